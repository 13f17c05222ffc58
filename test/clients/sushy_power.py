"""Drives powerbridge's Redfish service with OpenStack's sushy (what Ironic
uses): lists the systems, reads PowerState, powers a system on and off and
sets a boot override. Run by test/redfish_clients_test.go with RF_URL,
RF_USER, RF_PASS, RF_AUTH (session or basic) and RF_SYSTEM; RF_VERIFY, when
set, is the CA file the server's certificate is checked against (Ironic's
redfish_verify_ca), else it is not checked."""

import os
import sys
import time

import sushy
from sushy import auth


def v(x):
    """An enum's value (sushy 4 returns enums, older releases strings)."""
    return getattr(x, "value", x)


def wait_for(system, state, deadline=30):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        system.refresh()
        if system.power_state == state:
            return
        time.sleep(0.1)  # sushy has no wait of its own; Ironic polls too
    sys.exit("%s never read %s (last %s)" % (system.identity, state, system.power_state))


def main():
    user, password = os.environ["RF_USER"], os.environ["RF_PASS"]
    if os.environ["RF_AUTH"] == "session":
        a = auth.SessionAuth(username=user, password=password)
    else:
        a = auth.BasicAuth(username=user, password=password)
    root = sushy.Sushy(os.environ["RF_URL"] + "/redfish/v1", auth=a,
                       verify=os.environ.get("RF_VERIFY") or False)
    members = sorted(root.get_system_collection().members_identities)
    print("members", " ".join(members))
    system = root.get_system("/redfish/v1/Systems/" + os.environ["RF_SYSTEM"])
    print("power", v(system.power_state))
    system.reset_system(sushy.RESET_ON)
    wait_for(system, sushy.SYSTEM_POWER_STATE_ON)
    print("after on", v(system.power_state))
    system.reset_system(sushy.RESET_FORCE_OFF)
    wait_for(system, sushy.SYSTEM_POWER_STATE_OFF)
    print("after off", v(system.power_state))
    system.set_system_boot_options(sushy.BOOT_SOURCE_TARGET_PXE,
                                   enabled=sushy.BOOT_SOURCE_ENABLED_ONCE)
    system.refresh()
    print("boot", v(system.boot.enabled), v(system.boot.target))
    if isinstance(a, auth.SessionAuth):
        print("session", bool(a.get_session_key()))
        a.close()  # DELETEs the session


if __name__ == "__main__":
    main()
