#!/usr/bin/env python3
"""Install the powerbridge power driver into a deb-installed MAAS 2.4 - 2.9.1.

MAAS has no plugin mechanism for power drivers: the driver module has to sit
in provisioningserver/drivers/power/ and be listed in that folder's
registry.py, on every region and rack host. This script does that (with a
backup, idempotently), undoes it byte for byte (--uninstall), and refuses a
snap install, whose files are a read-only image.

Runs on the MAAS host's own python3 (3.5 on xenial, 3.6 on bionic):
standard library only, no f-strings.
"""

import argparse
import ast
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile

MARK = "# powerbridge-shim"
MODULE = "powerbridge"
CLASS = "PowerbridgePowerDriver"
IMPORT_LINE = "from provisioningserver.drivers.power.%s import %s  %s\n" % (
    MODULE, CLASS, MARK)
ENTRY_TEXT = "%s(),  %s\n" % (CLASS, MARK)
BACKUP_SUFFIX = ".powerbridge-shim.orig"
DEB_SITE = "usr/lib/python3/dist-packages"
POWER_DIR = os.path.join("provisioningserver", "drivers", "power")
UNITS = ("maas-regiond", "maas-rackd")
UNIT_DIRS = ("etc/systemd/system", "lib/systemd/system",
             "usr/lib/systemd/system")
MAAS_DEB_PACKAGES = ("maas-common", "python3-maas-provisioningserver",
                     "maas-rack-controller", "maas-region-api")
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      MODULE + ".py")

EXIT_OK, EXIT_ERROR, EXIT_REFUSED = 0, 1, 3


class Refused(Exception):
    """The target is not something this installer may change."""


class Failed(Exception):
    """Something went wrong; nothing (more) was changed."""


# -- registry.py editing ----------------------------------------------------

def _top_level(tree):
    return list(tree.body)


def _end_of_statement(lines, next_lineno):
    """Index (0-based) of the last code line before 1-based next_lineno."""
    index = next_lineno - 2
    while index >= 0:
        text = lines[index].strip()
        if text and not text.startswith("#"):
            return index
        index -= 1
    raise Failed("registry.py: cannot find the end of a statement")


def _drivers_list(tree):
    """(position, node) of the module-level `power_drivers = [...]`."""
    for position, node in enumerate(_top_level(tree)):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "power_drivers"
                and isinstance(node.value, ast.List)):
            return position, node
    return None, None


def _is_imported(tree):
    for node in _top_level(tree):
        if isinstance(node, ast.ImportFrom) and any(
                alias.name == CLASS for alias in node.names):
            return True
    return False


def _entries(list_node):
    """How many times the list calls PowerbridgePowerDriver()."""
    return sum(
        1 for elt in list_node.elts
        if isinstance(elt, ast.Call) and isinstance(elt.func, ast.Name)
        and elt.func.id == CLASS)


def registry_state(text):
    """(imported, entries) for a registry.py source text."""
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise Failed("registry.py does not parse: %s" % error)
    _, node = _drivers_list(tree)
    if node is None:
        raise Failed(
            "registry.py has no module-level `power_drivers = [...]` list: "
            "this is not a MAAS 2.4 - 2.9 registry; nothing changed")
    return _is_imported(tree), _entries(node.value)


def add_to_registry(text):
    """Return text with the import line and the list entry added once."""
    lines = text.splitlines(True)
    tree = ast.parse(text)
    body = _top_level(tree)
    imported, entries = registry_state(text)
    inserts = []  # (0-based index to insert before, line)

    if not entries:
        position, node = _drivers_list(tree)
        if position + 1 >= len(body):
            raise Failed("registry.py: nothing follows the power_drivers "
                         "list; unexpected shape, nothing changed")
        close = _end_of_statement(lines, body[position + 1].lineno)
        if lines[close].strip() != "]" or close + 1 == node.lineno:
            raise Failed("registry.py: the power_drivers list does not end "
                         "with `]` on a line of its own; unexpected shape, "
                         "nothing changed")
        if node.value.elts:
            first = lines[node.value.elts[0].lineno - 1]
            indent = first[:len(first) - len(first.lstrip())]
        else:
            indent = "    "
        last = _end_of_statement(lines, close + 1)
        if last + 1 != node.lineno and not lines[last].rstrip().endswith(
                (",", "[")):
            if "#" in lines[last]:
                raise Failed("registry.py: the last power driver has no "
                             "trailing comma; unexpected shape")
            lines[last] = lines[last].rstrip("\r\n") + ",\n"
        inserts.append((close, indent + ENTRY_TEXT))

    if not imported:
        position = None
        for index, node in enumerate(body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                position = index
        if position is None or position + 1 >= len(body):
            raise Failed("registry.py: no import block found; unexpected "
                         "shape, nothing changed")
        after = _end_of_statement(lines, body[position + 1].lineno)
        inserts.append((after + 1, IMPORT_LINE))

    for index, line in sorted(inserts, reverse=True):
        lines.insert(index, line)
    new_text = "".join(lines)
    check_registry(new_text, want=True)
    return new_text


def remove_from_registry(text):
    """Return text without the shim's marked lines (no backup at hand)."""
    kept = [line for line in text.splitlines(True) if MARK not in line]
    new_text = "".join(kept)
    check_registry(new_text, want=False)
    return new_text


def check_registry(text, want):
    """Raise Failed unless text compiles and holds the shim `want` times."""
    try:
        compile(text, "registry.py", "exec")
    except SyntaxError as error:
        raise Failed("edited registry.py would not compile (%s); "
                     "nothing changed" % error)
    imported, entries = registry_state(text)
    if want and not (imported and entries == 1):
        raise Failed("edited registry.py does not register %s exactly once; "
                     "nothing changed" % CLASS)
    if not want and (imported or entries):
        raise Failed("registry.py still mentions %s after removing the "
                     "shim's lines; remove it by hand" % CLASS)


# -- file helpers -----------------------------------------------------------

def read(path):
    with open(path, "rb") as stream:
        return stream.read()


def write_atomic(path, data, like=None):
    """Replace path with data; keep the mode of `like` (or of path)."""
    directory = os.path.dirname(path)
    mode = None
    for reference in (like, path):
        if reference and os.path.exists(reference):
            mode = os.stat(reference).st_mode & 0o7777
            break
    fd, temp = tempfile.mkstemp(prefix=".powerbridge-shim.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(temp, 0o644 if mode is None else mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def restore_atomic(backup, path):
    """Put backup's bytes, mode and times back at path."""
    directory = os.path.dirname(path)
    fd, temp = tempfile.mkstemp(prefix=".powerbridge-shim.", dir=directory)
    os.close(fd)
    try:
        shutil.copy2(backup, temp)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


# -- the installer ----------------------------------------------------------

class Installer:
    def __init__(self, root, prefix, dry_run, force, out):
        self.root = os.path.abspath(root)
        self.prefix = os.path.abspath(
            prefix if prefix else os.path.join(self.root, DEB_SITE))
        self.dry_run = dry_run
        self.force = force
        self.out = out
        self.power_dir = os.path.join(self.prefix, POWER_DIR)
        self.registry = os.path.join(self.power_dir, "registry.py")
        self.backup = self.registry + BACKUP_SUFFIX
        self.driver = os.path.join(self.power_dir, MODULE + ".py")
        self.changed = False

    def say(self, message):
        self.out.write(message + "\n")

    def act(self, message):
        """Announce a change; True when it should really be made."""
        self.changed = True
        self.say(("would " if self.dry_run else "") + message)
        return not self.dry_run

    # Detection ------------------------------------------------------------

    def refuse_snap(self):
        snap = os.path.join(self.root, "snap", "maas")
        under_snap = os.path.realpath(self.prefix).startswith(
            os.path.realpath(os.path.join(self.root, "snap")) + os.sep)
        if os.path.isdir(snap) or under_snap:
            raise Refused(
                "MAAS is installed as a snap (%s). A snap's files are a "
                "read-only squashfs image: a power driver cannot be added "
                "to it, and MAAS has no plugin mechanism. Use the built-in "
                "`webhook` power type (MAAS 2.9.2 or later; `sudo snap "
                "refresh maas --channel=2.9/stable` or newer) instead."
                % (snap if os.path.isdir(snap) else self.prefix))

    def deb_version(self):
        """Version of the installed MAAS deb, from dpkg's status file."""
        status = os.path.join(self.root, "var", "lib", "dpkg", "status")
        try:
            text = read(status).decode("utf-8", "replace")
        except OSError:
            return None
        for stanza in text.split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", stanza,
                                     re.MULTILINE))
            if (fields.get("Package") in MAAS_DEB_PACKAGES
                    and "installed" in fields.get("Status", "").split()
                    and "not-installed" not in fields.get("Status", "")):
                return fields.get("Version")
        return None

    def detect(self):
        self.refuse_snap()
        if not os.path.isfile(self.registry):
            raise Failed(
                "no deb-installed MAAS found: %s does not exist (MAAS's "
                "Python packages live in %s; use --root or --prefix for "
                "another tree)" % (self.registry, os.path.join("/", DEB_SITE)))
        version = self.deb_version()
        if version:
            self.say("found MAAS %s at %s" % (version, self.prefix))
        else:
            self.say("found MAAS at %s" % self.prefix)
        return version

    def refuse_if_webhook(self, version):
        reasons = []
        if b"WebhookPowerDriver" in read(self.registry):
            reasons.append("its registry.py already lists WebhookPowerDriver")
        match = re.match(r"^(?:\d+:)?(\d+)\.(\d+)(?:\.(\d+))?", version or "")
        if match:
            numbers = tuple(int(n or 0) for n in match.groups())
            if numbers >= (2, 9, 2):
                reasons.append("MAAS %s is 2.9.2 or later" % version)
        if reasons and not self.force:
            raise Refused(
                "this MAAS has the built-in `webhook` power type (%s): point "
                "power_type=webhook at powerbridge instead of installing the "
                "shim (--force installs it anyway)" % "; ".join(reasons))

    # Install ----------------------------------------------------------------

    def install(self):
        version = self.detect()
        self.refuse_if_webhook(version)
        if not os.path.isfile(SOURCE):
            raise Failed("driver source %s is missing" % SOURCE)
        source = read(SOURCE)
        try:
            compile(source, SOURCE, "exec")
        except SyntaxError as error:
            raise Failed("%s does not compile on this Python (%s): %s"
                         % (SOURCE, sys.version.split()[0], error))

        # Plan everything before changing anything.
        original = read(self.registry)
        text = original.decode("utf-8")
        imported, entries = registry_state(text)
        pristine = not imported and not entries and MARK not in text
        new_text = text if (imported and entries == 1) else (
            add_to_registry(text))

        if os.path.exists(self.driver) and MARK.encode() not in read(
                self.driver):
            raise Failed("%s exists and is not the powerbridge shim; "
                         "refusing to overwrite it" % self.driver)

        # 1. Backup of the untouched registry.py (a MAAS upgrade replaces
        #    registry.py, so a pristine file always renews the backup).
        if pristine:
            if not os.path.exists(self.backup) or read(
                    self.backup) != original:
                if self.act("back up %s to %s" % (self.registry,
                                                 self.backup)):
                    shutil.copy2(self.registry, self.backup)
        elif not os.path.exists(self.backup):
            self.say("note: registry.py was already edited and there is no "
                     "backup; --uninstall will remove the shim's lines")

        # 2. The driver module.
        if not os.path.exists(self.driver) or read(self.driver) != source:
            if self.act("write %s" % self.driver):
                write_atomic(self.driver, source)
        else:
            self.say("%s is up to date" % self.driver)

        # 3. The registry entry.
        if new_text != text:
            diff = difflib.unified_diff(
                text.splitlines(True), new_text.splitlines(True),
                self.registry, self.registry + " (new)")
            if self.act("register %s in %s:" % (CLASS, self.registry)):
                write_atomic(self.registry, new_text.encode("utf-8"))
            self.out.write("".join(diff))
        else:
            self.say("%s already registers %s" % (self.registry, CLASS))

    # Uninstall --------------------------------------------------------------

    def uninstall(self):
        self.detect()
        current = read(self.registry)
        text = current.decode("utf-8")
        imported, entries = registry_state(text)
        has_backup = os.path.exists(self.backup)

        if imported or entries or MARK in text:
            exact = False
            if has_backup:
                backup_text = read(self.backup).decode("utf-8")
                try:
                    exact = add_to_registry(backup_text) == text
                except Failed:
                    exact = False
            if exact:
                if self.act("restore %s from %s" % (self.registry,
                                                   self.backup)):
                    restore_atomic(self.backup, self.registry)
            else:
                # Changed since we installed (by hand, or no backup): take
                # only our own lines out and keep the rest.
                new_text = remove_from_registry(text)
                if self.act("remove the shim's lines from %s (it changed "
                            "since the install, or there is no backup)"
                            % self.registry):
                    write_atomic(self.registry, new_text.encode("utf-8"))
        else:
            self.say("%s does not register %s" % (self.registry, CLASS))

        if has_backup:
            if self.act("remove %s" % self.backup):
                os.unlink(self.backup)

        if os.path.exists(self.driver):
            if MARK.encode() not in read(self.driver):
                raise Failed("%s is not the powerbridge shim; left alone"
                             % self.driver)
            if self.act("remove %s" % self.driver):
                os.unlink(self.driver)
        cache = os.path.join(self.power_dir, "__pycache__")
        if os.path.isdir(cache):
            for name in sorted(os.listdir(cache)):
                if name.startswith(MODULE + ".") and name.endswith(".pyc"):
                    if self.act("remove %s" % os.path.join(cache, name)):
                        os.unlink(os.path.join(cache, name))

    # Restart ----------------------------------------------------------------

    def restart(self):
        units = [unit for unit in UNITS if any(
            os.path.exists(os.path.join(self.root, d, unit + ".service"))
            for d in UNIT_DIRS)]
        if not units:
            self.say("no maas-regiond / maas-rackd unit under %s; nothing "
                     "to restart" % self.root)
            return
        for unit in units:
            command = ["systemctl", "restart", unit]
            self.say(("would run: " if self.dry_run else "running: ")
                     + " ".join(command))
            if not self.dry_run:
                result = subprocess.call(command)
                if result != 0:
                    raise Failed("%s exited with %d" % (" ".join(command),
                                                       result))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Install (or --uninstall) the powerbridge power driver "
        "into a deb-installed MAAS 2.4 - 2.9.1. Run it on every region "
        "and rack controller host.")
    parser.add_argument(
        "--root", default="/", metavar="DIR",
        help="treat DIR as the filesystem root (default /); MAAS is looked "
        "for in DIR/%s" % DEB_SITE)
    parser.add_argument(
        "--prefix", metavar="DIR",
        help="the directory that holds provisioningserver/ (default "
        "ROOT/%s)" % DEB_SITE)
    parser.add_argument("--uninstall", action="store_true",
                        help="remove the driver and restore registry.py")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be done; change nothing")
    parser.add_argument("--restart", action="store_true",
                        help="restart maas-regiond and maas-rackd (those "
                        "installed) afterwards")
    parser.add_argument("--force", action="store_true",
                        help="install even where MAAS has the webhook type")
    return parser.parse_args(argv)


def main(argv=None, out=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = sys.stdout if out is None else out
    installer = Installer(args.root, args.prefix, args.dry_run, args.force,
                          out)
    try:
        if args.uninstall:
            installer.uninstall()
        else:
            installer.install()
        if args.restart:
            installer.restart()
        elif installer.changed and not args.dry_run:
            installer.say("done; restart maas-regiond and maas-rackd "
                          "(or run again with --restart) to apply it")
    except Refused as error:
        sys.stderr.write("refused: %s\n" % error)
        return EXIT_REFUSED
    except (Failed, OSError, UnicodeError) as error:
        sys.stderr.write("error: %s\n" % error)
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
