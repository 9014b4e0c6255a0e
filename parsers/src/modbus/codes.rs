//! Open enums for the code points of the Modbus application protocol: function
//! codes, exception codes, diagnostic sub-functions and MEI types. An unknown
//! code is a value (`Unknown(u8)`, `Reserved(..)`), never an error.

use core::fmt;

/// A Modbus function code with the exception bit (0x80) stripped
/// (Modbus Application Protocol V1.1b3 §5, §6, Annex A).
///
/// Public codes are named; the two user-defined ranges (65–72, 100–110), the
/// codes the spec reserves for legacy vendor products (9, 10, 13, 14, 41, 42,
/// 90, 91, 125–127; e.g. 90 is Schneider UMAS) and unassigned codes are kept
/// as values so that a sensor can report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionCode {
    /// 0x01 Read Coils.
    ReadCoils,
    /// 0x02 Read Discrete Inputs.
    ReadDiscreteInputs,
    /// 0x03 Read Holding Registers.
    ReadHoldingRegisters,
    /// 0x04 Read Input Registers.
    ReadInputRegisters,
    /// 0x05 Write Single Coil.
    WriteSingleCoil,
    /// 0x06 Write Single Register.
    WriteSingleRegister,
    /// 0x07 Read Exception Status (serial line only).
    ReadExceptionStatus,
    /// 0x08 Diagnostics (serial line only).
    Diagnostics,
    /// 0x0B Get Comm Event Counter (serial line only).
    GetCommEventCounter,
    /// 0x0C Get Comm Event Log (serial line only).
    GetCommEventLog,
    /// 0x0F Write Multiple Coils.
    WriteMultipleCoils,
    /// 0x10 Write Multiple Registers.
    WriteMultipleRegisters,
    /// 0x11 Report Server ID (serial line only).
    ReportServerId,
    /// 0x14 Read File Record.
    ReadFileRecord,
    /// 0x15 Write File Record.
    WriteFileRecord,
    /// 0x16 Mask Write Register.
    MaskWriteRegister,
    /// 0x17 Read/Write Multiple Registers.
    ReadWriteMultipleRegisters,
    /// 0x18 Read FIFO Queue.
    ReadFifoQueue,
    /// 0x2B Encapsulated Interface Transport (MEI 13 CANopen, MEI 14 Read
    /// Device Identification).
    EncapsulatedInterface,
    /// A user-defined code (65–72, 100–110).
    UserDefined(u8),
    /// A code the spec reserves for legacy vendor products (Annex A), e.g.
    /// 90 (Schneider UMAS).
    Reserved(u8),
    /// Any other code (0, unassigned public codes).
    Unknown(u8),
}

impl FunctionCode {
    /// Classify a function-code byte. The exception bit must already be
    /// stripped (`byte & 0x7F`); a value ≥ 0x80 is returned as `Unknown`.
    #[must_use]
    pub const fn from_u8(code: u8) -> Self {
        match code {
            0x01 => Self::ReadCoils,
            0x02 => Self::ReadDiscreteInputs,
            0x03 => Self::ReadHoldingRegisters,
            0x04 => Self::ReadInputRegisters,
            0x05 => Self::WriteSingleCoil,
            0x06 => Self::WriteSingleRegister,
            0x07 => Self::ReadExceptionStatus,
            0x08 => Self::Diagnostics,
            0x0B => Self::GetCommEventCounter,
            0x0C => Self::GetCommEventLog,
            0x0F => Self::WriteMultipleCoils,
            0x10 => Self::WriteMultipleRegisters,
            0x11 => Self::ReportServerId,
            0x14 => Self::ReadFileRecord,
            0x15 => Self::WriteFileRecord,
            0x16 => Self::MaskWriteRegister,
            0x17 => Self::ReadWriteMultipleRegisters,
            0x18 => Self::ReadFifoQueue,
            0x2B => Self::EncapsulatedInterface,
            65..=72 | 100..=110 => Self::UserDefined(code),
            9 | 10 | 13 | 14 | 41 | 42 | 90 | 91 | 125..=127 => Self::Reserved(code),
            _ => Self::Unknown(code),
        }
    }

    /// The code on the wire (without the exception bit).
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::ReadCoils => 0x01,
            Self::ReadDiscreteInputs => 0x02,
            Self::ReadHoldingRegisters => 0x03,
            Self::ReadInputRegisters => 0x04,
            Self::WriteSingleCoil => 0x05,
            Self::WriteSingleRegister => 0x06,
            Self::ReadExceptionStatus => 0x07,
            Self::Diagnostics => 0x08,
            Self::GetCommEventCounter => 0x0B,
            Self::GetCommEventLog => 0x0C,
            Self::WriteMultipleCoils => 0x0F,
            Self::WriteMultipleRegisters => 0x10,
            Self::ReportServerId => 0x11,
            Self::ReadFileRecord => 0x14,
            Self::WriteFileRecord => 0x15,
            Self::MaskWriteRegister => 0x16,
            Self::ReadWriteMultipleRegisters => 0x17,
            Self::ReadFifoQueue => 0x18,
            Self::EncapsulatedInterface => 0x2B,
            Self::UserDefined(c) | Self::Reserved(c) | Self::Unknown(c) => c,
        }
    }

    /// True for the named public function codes.
    #[must_use]
    pub const fn is_public(self) -> bool {
        !matches!(self, Self::UserDefined(_) | Self::Reserved(_) | Self::Unknown(_))
    }

    /// True for a code a real Modbus device may plausibly send: public,
    /// user-defined or reserved-for-vendors. Used by the resync probes.
    #[must_use]
    pub const fn is_plausible(self) -> bool {
        !matches!(self, Self::Unknown(_))
    }

    /// A stable snake_case name (for logs and events).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::ReadCoils => "read_coils",
            Self::ReadDiscreteInputs => "read_discrete_inputs",
            Self::ReadHoldingRegisters => "read_holding_registers",
            Self::ReadInputRegisters => "read_input_registers",
            Self::WriteSingleCoil => "write_single_coil",
            Self::WriteSingleRegister => "write_single_register",
            Self::ReadExceptionStatus => "read_exception_status",
            Self::Diagnostics => "diagnostics",
            Self::GetCommEventCounter => "get_comm_event_counter",
            Self::GetCommEventLog => "get_comm_event_log",
            Self::WriteMultipleCoils => "write_multiple_coils",
            Self::WriteMultipleRegisters => "write_multiple_registers",
            Self::ReportServerId => "report_server_id",
            Self::ReadFileRecord => "read_file_record",
            Self::WriteFileRecord => "write_file_record",
            Self::MaskWriteRegister => "mask_write_register",
            Self::ReadWriteMultipleRegisters => "read_write_multiple_registers",
            Self::ReadFifoQueue => "read_fifo_queue",
            Self::EncapsulatedInterface => "encapsulated_interface_transport",
            Self::UserDefined(_) => "user_defined",
            Self::Reserved(_) => "reserved",
            Self::Unknown(_) => "unknown",
        }
    }

    /// True for functions that change the state of the server (writes,
    /// diagnostics that restart or clear, file writes).
    #[must_use]
    pub const fn is_write(self) -> bool {
        matches!(
            self,
            Self::WriteSingleCoil
                | Self::WriteSingleRegister
                | Self::WriteMultipleCoils
                | Self::WriteMultipleRegisters
                | Self::WriteFileRecord
                | Self::MaskWriteRegister
                | Self::ReadWriteMultipleRegisters
        )
    }
}

impl From<u8> for FunctionCode {
    fn from(code: u8) -> Self {
        Self::from_u8(code & 0x7F)
    }
}

impl fmt::Display for FunctionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.code())
    }
}

/// A Modbus exception code (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionCode {
    /// 0x01 Illegal Function.
    IllegalFunction,
    /// 0x02 Illegal Data Address.
    IllegalDataAddress,
    /// 0x03 Illegal Data Value.
    IllegalDataValue,
    /// 0x04 Server Device Failure.
    ServerDeviceFailure,
    /// 0x05 Acknowledge.
    Acknowledge,
    /// 0x06 Server Device Busy.
    ServerDeviceBusy,
    /// 0x08 Memory Parity Error.
    MemoryParityError,
    /// 0x0A Gateway Path Unavailable.
    GatewayPathUnavailable,
    /// 0x0B Gateway Target Device Failed to Respond.
    GatewayTargetFailedToRespond,
    /// Any other code (flagged `invalid_exception_code`).
    Unknown(u8),
}

impl ExceptionCode {
    /// Classify an exception-code byte.
    #[must_use]
    pub const fn from_u8(code: u8) -> Self {
        match code {
            0x01 => Self::IllegalFunction,
            0x02 => Self::IllegalDataAddress,
            0x03 => Self::IllegalDataValue,
            0x04 => Self::ServerDeviceFailure,
            0x05 => Self::Acknowledge,
            0x06 => Self::ServerDeviceBusy,
            0x08 => Self::MemoryParityError,
            0x0A => Self::GatewayPathUnavailable,
            0x0B => Self::GatewayTargetFailedToRespond,
            c => Self::Unknown(c),
        }
    }

    /// The code on the wire.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::IllegalFunction => 0x01,
            Self::IllegalDataAddress => 0x02,
            Self::IllegalDataValue => 0x03,
            Self::ServerDeviceFailure => 0x04,
            Self::Acknowledge => 0x05,
            Self::ServerDeviceBusy => 0x06,
            Self::MemoryParityError => 0x08,
            Self::GatewayPathUnavailable => 0x0A,
            Self::GatewayTargetFailedToRespond => 0x0B,
            Self::Unknown(c) => c,
        }
    }

    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::IllegalFunction => "illegal_function",
            Self::IllegalDataAddress => "illegal_data_address",
            Self::IllegalDataValue => "illegal_data_value",
            Self::ServerDeviceFailure => "server_device_failure",
            Self::Acknowledge => "acknowledge",
            Self::ServerDeviceBusy => "server_device_busy",
            Self::MemoryParityError => "memory_parity_error",
            Self::GatewayPathUnavailable => "gateway_path_unavailable",
            Self::GatewayTargetFailedToRespond => "gateway_target_failed_to_respond",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// A Diagnostics (FC 0x08) sub-function (§6.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiagnosticSubFunction {
    /// 0x00 Return Query Data (echo of arbitrary data).
    ReturnQueryData,
    /// 0x01 Restart Communications Option.
    RestartCommunications,
    /// 0x02 Return Diagnostic Register.
    ReturnDiagnosticRegister,
    /// 0x03 Change ASCII Input Delimiter.
    ChangeAsciiInputDelimiter,
    /// 0x04 Force Listen Only Mode.
    ForceListenOnlyMode,
    /// 0x0A Clear Counters and Diagnostic Register.
    ClearCountersAndDiagnosticRegister,
    /// 0x0B Return Bus Message Count.
    ReturnBusMessageCount,
    /// 0x0C Return Bus Communication Error Count.
    ReturnBusCommunicationErrorCount,
    /// 0x0D Return Bus Exception Error Count.
    ReturnBusExceptionErrorCount,
    /// 0x0E Return Server Message Count.
    ReturnServerMessageCount,
    /// 0x0F Return Server No Response Count.
    ReturnServerNoResponseCount,
    /// 0x10 Return Server NAK Count.
    ReturnServerNakCount,
    /// 0x11 Return Server Busy Count.
    ReturnServerBusyCount,
    /// 0x12 Return Bus Character Overrun Count.
    ReturnBusCharacterOverrunCount,
    /// 0x14 Clear Overrun Counter and Flag.
    ClearOverrunCounterAndFlag,
    /// Any reserved sub-function (5–9, 19, 21–65535; flagged
    /// `reserved_subfunction`).
    Reserved(u16),
}

impl DiagnosticSubFunction {
    /// Classify a sub-function code.
    #[must_use]
    pub const fn from_u16(code: u16) -> Self {
        match code {
            0x00 => Self::ReturnQueryData,
            0x01 => Self::RestartCommunications,
            0x02 => Self::ReturnDiagnosticRegister,
            0x03 => Self::ChangeAsciiInputDelimiter,
            0x04 => Self::ForceListenOnlyMode,
            0x0A => Self::ClearCountersAndDiagnosticRegister,
            0x0B => Self::ReturnBusMessageCount,
            0x0C => Self::ReturnBusCommunicationErrorCount,
            0x0D => Self::ReturnBusExceptionErrorCount,
            0x0E => Self::ReturnServerMessageCount,
            0x0F => Self::ReturnServerNoResponseCount,
            0x10 => Self::ReturnServerNakCount,
            0x11 => Self::ReturnServerBusyCount,
            0x12 => Self::ReturnBusCharacterOverrunCount,
            0x14 => Self::ClearOverrunCounterAndFlag,
            c => Self::Reserved(c),
        }
    }

    /// The code on the wire.
    #[must_use]
    pub const fn code(self) -> u16 {
        match self {
            Self::ReturnQueryData => 0x00,
            Self::RestartCommunications => 0x01,
            Self::ReturnDiagnosticRegister => 0x02,
            Self::ChangeAsciiInputDelimiter => 0x03,
            Self::ForceListenOnlyMode => 0x04,
            Self::ClearCountersAndDiagnosticRegister => 0x0A,
            Self::ReturnBusMessageCount => 0x0B,
            Self::ReturnBusCommunicationErrorCount => 0x0C,
            Self::ReturnBusExceptionErrorCount => 0x0D,
            Self::ReturnServerMessageCount => 0x0E,
            Self::ReturnServerNoResponseCount => 0x0F,
            Self::ReturnServerNakCount => 0x10,
            Self::ReturnServerBusyCount => 0x11,
            Self::ReturnBusCharacterOverrunCount => 0x12,
            Self::ClearOverrunCounterAndFlag => 0x14,
            Self::Reserved(c) => c,
        }
    }
}

/// MEI type of an Encapsulated Interface Transport PDU (FC 0x2B, §6.19).
pub mod mei {
    /// CANopen General Reference Request and Response PDU.
    pub const CANOPEN_GENERAL_REFERENCE: u8 = 0x0D;
    /// Read Device Identification.
    pub const READ_DEVICE_IDENTIFICATION: u8 = 0x0E;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn function_codes_round_trip() {
        for b in 0u8..=0x7F {
            let f = FunctionCode::from_u8(b);
            assert_eq!(f.code(), b);
        }
        assert_eq!(FunctionCode::from_u8(90), FunctionCode::Reserved(90));
        assert_eq!(FunctionCode::from_u8(100), FunctionCode::UserDefined(100));
        assert_eq!(FunctionCode::from_u8(0), FunctionCode::Unknown(0));
        assert_eq!(FunctionCode::from(0x83), FunctionCode::ReadHoldingRegisters);
        assert!(FunctionCode::ReadCoils.is_public());
        assert!(!FunctionCode::Reserved(90).is_public());
    }

    #[test]
    fn exception_and_subfunction_codes_round_trip() {
        for b in 0u8..=0xFF {
            assert_eq!(ExceptionCode::from_u8(b).code(), b);
        }
        assert_eq!(ExceptionCode::from_u8(7), ExceptionCode::Unknown(7));
        for c in 0u16..=0x30 {
            assert_eq!(DiagnosticSubFunction::from_u16(c).code(), c);
        }
        assert_eq!(DiagnosticSubFunction::from_u16(19), DiagnosticSubFunction::Reserved(19));
    }
}
