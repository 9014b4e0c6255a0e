"""Real opendnp3 master and outstation (PyPI dnp3-python, pydnp3 bindings), for the
pcaps/dnp3-opendnp3-polling capture.

    python dnp3_stack.py SECONDS

Starts an outstation on 127.0.0.1:20000 (link address 1) and a master (link address 2)
in one process. Each second the outstation updates analog and binary inputs (events,
reported unsolicited and read by the master's class scans); every fifth second the
master asks for an integrity scan. Commands (CROB / analog output) are left out: with
dnp3-python 0.3.0b1 the outstation's command handler aborts the process
(pybind11::cast_error "return_value_policy = copy, but type is non-copyable") as soon
as it answers the first operate.
"""

import sys
import time

from pydnp3 import opendnp3

from dnp3_python.dnp3station.master import MyMaster
from dnp3_python.dnp3station.outstation import MyOutStation


def main(seconds: int) -> None:
    outstation = MyOutStation()
    outstation.start()
    master = MyMaster()
    master.start()
    time.sleep(2.0)
    for tick in range(seconds):
        for i in range(3):
            outstation.apply_update(opendnp3.Analog(value=float(10 * i + tick % 7) + 0.25), i)
            outstation.apply_update(opendnp3.Binary((tick + i) % 2 == 0), i)
        if tick % 5 == 0:
            master.send_scan_all_request()
        time.sleep(1.0)
    master.shutdown()
    outstation.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
