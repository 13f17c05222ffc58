"""Switches an outlet through powerbridge's pdudaemon listener with
labgrid's PDUDaemonDriver (Debian python3-labgrid): on, reboot, off. Run by
test/redfish_clients_test.go with PD_HOST (host:port), PD_PDU and PD_INDEX;
it prints what it did, one step a line, and waits for a go-ahead on stdin
between steps so that the test can check the PDU after each."""

import os
import sys

from labgrid import Target
from labgrid.driver.powerdriver import PDUDaemonDriver
from labgrid.resource.power import PDUDaemonPort


def main():
    target = Target("dut")
    PDUDaemonPort(target, "port", host=os.environ["PD_HOST"],
                  pdu=os.environ["PD_PDU"], index=int(os.environ["PD_INDEX"]))
    driver = PDUDaemonDriver(target, "power", delay=1.0)
    target.activate(driver)
    for step in ("on", "cycle", "off"):
        getattr(driver, step)()
        print(step, flush=True)
        sys.stdin.readline()


if __name__ == "__main__":
    main()
