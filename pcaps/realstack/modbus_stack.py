"""Real pymodbus server and client, for the pcaps/modbus-pymodbus-* captures.

    python modbus_stack.py server PORT
    python modbus_stack.py client PORT {polling,writes,diagnostics}

The server holds 100 coils, discrete inputs, holding and input registers for unit 1
and answers device identification (43/14). The client runs one scripted scenario;
every request and its outcome is printed so the capture can be checked against it.
"""

import asyncio
import logging
import sys
import time

from pymodbus import ModbusDeviceIdentification
from pymodbus.client import ModbusTcpClient
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import StartAsyncTcpServer

UNIT = 1
POINTS = 100


def serve(port: int) -> None:
    device = ModbusDeviceContext(
        co=ModbusSequentialDataBlock(1, [i % 3 == 0 for i in range(POINTS)]),
        di=ModbusSequentialDataBlock(1, [i % 2 == 0 for i in range(POINTS)]),
        hr=ModbusSequentialDataBlock(1, [1000 + i for i in range(POINTS)]),
        ir=ModbusSequentialDataBlock(1, [2000 + 3 * i for i in range(POINTS)]),
    )
    context = ModbusServerContext(devices={UNIT: device})
    identity = ModbusDeviceIdentification(
        info_name={
            "VendorName": "Centinela test bench",
            "ProductCode": "CT-PLC",
            "MajorMinorRevision": "3.16.1",
            "VendorUrl": "https://example.invalid/",
            "ProductName": "pymodbus server",
            "ModelName": "realstack",
            "UserApplicationName": "pcaps",
        }
    )
    asyncio.run(StartAsyncTcpServer(context=context, identity=identity, address=("127.0.0.1", port)))


def show(what: str, rr) -> None:
    print(f"{what}: {rr}", flush=True)


def polling(c: ModbusTcpClient) -> None:
    for cycle in range(10):
        show("read_coils 0/16", c.read_coils(0, count=16, device_id=UNIT))
        show("read_discrete_inputs 0/16", c.read_discrete_inputs(0, count=16, device_id=UNIT))
        show("read_holding_registers 0/10", c.read_holding_registers(0, count=10, device_id=UNIT))
        show("read_input_registers 0/8", c.read_input_registers(0, count=8, device_id=UNIT))
        if cycle % 5 == 4:
            show("read_holding_registers 20/60", c.read_holding_registers(20, count=60, device_id=UNIT))
        time.sleep(0.2)


def writes(c: ModbusTcpClient) -> None:
    show("write_coil 5 on", c.write_coil(5, True, device_id=UNIT))
    show("write_coil 6 off", c.write_coil(6, False, device_id=UNIT))
    show("write_register 3", c.write_register(3, 1234, device_id=UNIT))
    show("write_coils 10..19", c.write_coils(10, [True, False] * 5, device_id=UNIT))
    show("write_registers 20..27", c.write_registers(20, list(range(500, 508)), device_id=UNIT))
    show("mask_write_register 4", c.mask_write_register(address=4, and_mask=0x00F2, or_mask=0x0025, device_id=UNIT))
    show(
        "readwrite_registers",
        c.readwrite_registers(read_address=20, read_count=4, write_address=30, values=[7, 8], device_id=UNIT),
    )
    show("read back coils 0/24", c.read_coils(0, count=24, device_id=UNIT))
    show("read back holding 0/32", c.read_holding_registers(0, count=32, device_id=UNIT))


def diagnostics(c: ModbusTcpClient) -> None:
    show("diag_query_data", c.diag_query_data(b"\x12\x34", device_id=UNIT))
    show("diag_read_diagnostic_register", c.diag_read_diagnostic_register(device_id=UNIT))
    show("diag_read_bus_message_count", c.diag_read_bus_message_count(device_id=UNIT))
    show("diag_clear_counters", c.diag_clear_counters(device_id=UNIT))
    show("diag_get_comm_event_counter", c.diag_get_comm_event_counter(device_id=UNIT))
    show("read_device_information basic", c.read_device_information(read_code=1, object_id=0, device_id=UNIT))
    show("read_device_information regular", c.read_device_information(read_code=2, object_id=0, device_id=UNIT))
    show("read_device_information one", c.read_device_information(read_code=4, object_id=1, device_id=UNIT))
    show("report_device_id", c.report_device_id(device_id=UNIT))
    # Exception responses: addresses beyond the 100 points.
    show("read_holding_registers 9999 (out of range)", c.read_holding_registers(9999, count=2, device_id=UNIT))
    show("read_coils 95/20 (out of range)", c.read_coils(95, count=20, device_id=UNIT))
    show("write_register 5000 (out of range)", c.write_register(5000, 1, device_id=UNIT))
    show("read_input_registers 200/4 (out of range)", c.read_input_registers(200, count=4, device_id=UNIT))


def client(port: int, scenario: str) -> None:
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    if not c.connect():
        sys.exit(f"cannot connect to 127.0.0.1:{port}")
    {"polling": polling, "writes": writes, "diagnostics": diagnostics}[scenario](c)
    c.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    if sys.argv[1] == "server":
        serve(int(sys.argv[2]))
    else:
        client(int(sys.argv[2]), sys.argv[3])
