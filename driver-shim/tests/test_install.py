"""install.py on scratch trees shaped like a deb-installed MAAS."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

import support

SITE = os.path.join("usr", "lib", "python3", "dist-packages")
POWER = os.path.join(SITE, "provisioningserver", "drivers", "power")
OLD = 1577836800  # 2020-01-01: the packaged files' mtime
FIXTURES = {
    "2.4": "registry-2.4.py",
    "2.7": "registry-2.7.py",
    "2.9": "registry-2.9.py",
}
IMPORT_RE = re.compile(
    r"^from provisioningserver\.drivers\.power\.(\w+) import (\w+)",
    re.MULTILINE)

DRIVER_STUB = '''\
from provisioningserver.drivers.power import PowerDriver


class {cls}(PowerDriver):
    name = "{name}"
    description = "{cls} (stub)"
    settings = []
    ip_extractor = None
    chassis = False
    can_probe = False

    def detect_missing_packages(self):
        return []

    def power_on(self, system_id, context):
        pass

    def power_off(self, system_id, context):
        pass

    def power_query(self, system_id, context):
        return "off"
'''

CHECK_REGISTRY = '''\
import json, sys
sys.path.insert(0, sys.argv[1])
from provisioningserver.drivers.power.registry import PowerDriverRegistry
schemas = PowerDriverRegistry.get_schema()  # validates every driver
names = [name for name, _ in PowerDriverRegistry]
driver = PowerDriverRegistry.get_item("powerbridge")
print(json.dumps({"names": names,
                  "class": type(driver).__name__ if driver else None,
                  "schemas": len(schemas)}))
'''


def snapshot(root):
    """{relative path: (bytes, mode, mtime_ns)} of every file under root."""
    result = {}
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            with open(path, "rb") as stream:
                data = stream.read()
            result[os.path.relpath(path, root)] = (
                data, stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    return result


class Tree:
    """A scratch root with MAAS's dist-packages layout."""

    def __init__(self, fixture="registry-2.7.py", importable=False):
        self.root = tempfile.mkdtemp(prefix="powerbridge-shim-root.")
        self.power = os.path.join(self.root, POWER)
        self.site = os.path.join(self.root, SITE)
        os.makedirs(self.power)
        self.registry = os.path.join(self.power, "registry.py")
        self.driver = os.path.join(self.power, "powerbridge.py")
        with open(os.path.join(support.FIXTURES, fixture), "rb") as stream:
            self.original = stream.read()
        self.write_registry(self.original)
        if importable:
            self.make_importable()

    def write_registry(self, data):
        with open(self.registry, "wb") as stream:
            stream.write(data)
        os.chmod(self.registry, 0o644)
        os.utime(self.registry, (OLD, OLD))

    def make_importable(self):
        """Add the MAAS stand-in and a stub module per imported driver."""
        stub = support.STUB
        shutil.copy(os.path.join(stub, "jsonschema.py"), self.site)
        for directory, _, files in os.walk(
                os.path.join(stub, "provisioningserver")):
            target = os.path.join(self.site, os.path.relpath(directory, stub))
            os.makedirs(target, exist_ok=True)
            for name in files:
                if name.endswith(".py"):
                    shutil.copy(os.path.join(directory, name), target)
        for module, cls in IMPORT_RE.findall(self.original.decode()):
            with open(os.path.join(self.power, module + ".py"), "w") as out:
                out.write(DRIVER_STUB.format(cls=cls, name=module))

    def add_units(self, *units):
        directory = os.path.join(self.root, "lib", "systemd", "system")
        os.makedirs(directory, exist_ok=True)
        for unit in units:
            with open(os.path.join(directory, unit + ".service"), "w") as f:
                f.write("[Service]\nExecStart=/bin/true\n")

    def add_dpkg_status(self, version):
        directory = os.path.join(self.root, "var", "lib", "dpkg")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "status"), "w") as stream:
            stream.write(
                "Package: libc6\nStatus: install ok installed\n"
                "Version: 2.27-3ubuntu1\n\n"
                "Package: maas-common\nStatus: install ok installed\n"
                "Priority: optional\nVersion: %s\n\n" % version)

    def registry_bytes(self):
        with open(self.registry, "rb") as stream:
            return stream.read()

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


class InstallerCase(unittest.TestCase):
    python = sys.executable

    def tree(self, *args, **kwargs):
        tree = Tree(*args, **kwargs)
        self.addCleanup(tree.cleanup)
        return tree

    def run_installer(self, tree, *args, **kwargs):
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.update(kwargs.get("env", {}))
        result = subprocess.run(
            [self.python, support.INSTALLER, "--root", tree.root]
            + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, env=env, timeout=60)
        return result

    def install(self, tree, *args):
        result = self.run_installer(tree, *args)
        self.assertEqual(0, result.returncode, result.stderr)
        return result

    def import_registry(self, tree, version):
        env = dict(os.environ, MAAS_STUB_VERSION=version,
                   PYTHONDONTWRITEBYTECODE="1")
        result = subprocess.run(
            [self.python, "-c", CHECK_REGISTRY, tree.site],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, env=env, timeout=60)
        self.assertEqual(0, result.returncode, result.stderr)
        return json.loads(result.stdout)


class TestInstall(InstallerCase):
    def test_install_registers_the_driver_in_each_registry_shape(self):
        for version, fixture in sorted(FIXTURES.items()):
            with self.subTest(maas=version):
                tree = self.tree(fixture, importable=True)
                self.install(tree)
                text = tree.registry_bytes().decode()
                self.assertEqual(1, text.count(
                    "from provisioningserver.drivers.power.powerbridge "
                    "import PowerbridgePowerDriver"))
                self.assertEqual(1, text.count("PowerbridgePowerDriver(),"))
                with open(tree.driver, "rb") as got, open(
                        support.DRIVER_SOURCE, "rb") as want:
                    self.assertEqual(want.read(), got.read())
                loaded = self.import_registry(tree, version)
                self.assertEqual("PowerbridgePowerDriver", loaded["class"])
                self.assertIn("powerbridge", loaded["names"])

    def test_installing_twice_leaves_one_entry(self):
        tree = self.tree()
        self.install(tree)
        after_first = snapshot(tree.root)
        second = self.install(tree)
        self.assertEqual(after_first, snapshot(tree.root))
        self.assertIn("already registers", second.stdout)
        text = tree.registry_bytes().decode()
        self.assertEqual(1, text.count("PowerbridgePowerDriver(),"))
        self.assertEqual(1, text.count("import PowerbridgePowerDriver"))

    def test_backup_is_the_original(self):
        tree = self.tree()
        self.install(tree)
        backup = tree.registry + ".powerbridge-shim.orig"
        with open(backup, "rb") as stream:
            self.assertEqual(tree.original, stream.read())
        self.assertEqual(OLD, int(os.stat(backup).st_mtime))

    def test_registry_keeps_its_mode(self):
        tree = self.tree()
        os.chmod(tree.registry, 0o640)
        self.install(tree)
        self.assertEqual(0o640, stat.S_IMODE(os.stat(tree.registry).st_mode))
        self.assertEqual(0o644, stat.S_IMODE(os.stat(tree.driver).st_mode))

    def test_the_entry_goes_inside_the_list(self):
        tree = self.tree()
        self.install(tree)
        text = tree.registry_bytes().decode()
        block = text.split("power_drivers = [\n", 1)[1].split("\n]\n", 1)[0]
        self.assertTrue(block.endswith(
            "    WedgePowerDriver(),\n"
            "    PowerbridgePowerDriver(),  # powerbridge-shim"), block)

    def test_a_list_without_trailing_comma(self):
        tree = self.tree()
        tree.write_registry(tree.original.replace(
            b"    WedgePowerDriver(),\n]", b"    WedgePowerDriver()\n]"))
        self.install(tree)
        self.assertIn(b"    WedgePowerDriver(),\n    PowerbridgePowerDriver(),",
                      tree.registry_bytes())

    def test_a_newer_shim_replaces_the_installed_driver(self):
        tree = self.tree()
        self.install(tree)
        with open(tree.driver, "a") as stream:
            stream.write("# an older copy of the shim\n")
        result = self.install(tree)
        self.assertIn("write " + tree.driver, result.stdout)
        with open(tree.driver, "rb") as got, open(
                support.DRIVER_SOURCE, "rb") as want:
            self.assertEqual(want.read(), got.read())

    def test_reinstall_after_a_maas_upgrade(self):
        # A package upgrade puts a new registry.py (without the shim) in
        # place; installing again must renew the backup from it.
        tree = self.tree()
        self.install(tree)
        upgraded = tree.original.replace(b"# Register all the power drivers.",
                                         b"# Register all power drivers (new).")
        tree.write_registry(upgraded)
        self.install(tree)
        with open(tree.registry + ".powerbridge-shim.orig", "rb") as stream:
            self.assertEqual(upgraded, stream.read())
        self.assertEqual(1, tree.registry_bytes().count(
            b"PowerbridgePowerDriver(),"))
        self.run_installer(tree, "--uninstall")
        self.assertEqual(upgraded, tree.registry_bytes())


class TestUninstall(InstallerCase):
    def test_uninstall_restores_every_file_byte_for_byte(self):
        for version, fixture in sorted(FIXTURES.items()):
            with self.subTest(maas=version):
                tree = self.tree(fixture, importable=True)
                before = snapshot(tree.root)
                self.install(tree)
                self.install(tree)
                self.assertNotEqual(before, snapshot(tree.root))
                result = self.install(tree, "--uninstall")
                self.assertIn("restore", result.stdout)
                self.assertEqual(before, snapshot(tree.root))
                self.assertEqual(tree.original, tree.registry_bytes())

    def test_uninstall_removes_compiled_driver_files(self):
        tree = self.tree(importable=True)
        before = set(snapshot(tree.root))
        self.install(tree)
        cache = os.path.join(tree.power, "__pycache__")
        os.makedirs(cache, exist_ok=True)
        pyc = os.path.join(cache, "powerbridge.cpython-36.pyc")
        with open(pyc, "wb") as stream:
            stream.write(b"compiled")
        self.install(tree, "--uninstall")
        self.assertFalse(os.path.exists(pyc))
        self.assertFalse(os.path.exists(tree.driver))
        self.assertEqual(before, set(snapshot(tree.root)) - {
            os.path.relpath(cache, tree.root)})

    def test_uninstall_twice_is_harmless(self):
        tree = self.tree()
        before = snapshot(tree.root)
        self.install(tree)
        self.install(tree, "--uninstall")
        result = self.install(tree, "--uninstall")
        self.assertIn("does not register", result.stdout)
        self.assertEqual(before, snapshot(tree.root))

    def test_uninstall_keeps_later_hand_edits(self):
        tree = self.tree()
        self.install(tree)
        edited = tree.registry_bytes() + b"# local note\n"
        with open(tree.registry, "wb") as stream:
            stream.write(edited)
        result = self.install(tree, "--uninstall")
        self.assertIn("remove the shim's lines", result.stdout)
        self.assertEqual(tree.original + b"# local note\n",
                         tree.registry_bytes())

    def test_uninstall_after_an_upgrade_leaves_the_new_registry(self):
        tree = self.tree()
        self.install(tree)
        upgraded = tree.original + b"# 2.7.4\n"
        tree.write_registry(upgraded)
        self.install(tree, "--uninstall")
        self.assertEqual(upgraded, tree.registry_bytes())
        self.assertFalse(os.path.exists(
            tree.registry + ".powerbridge-shim.orig"))
        self.assertFalse(os.path.exists(tree.driver))


class TestDryRun(InstallerCase):
    def test_dry_run_install_changes_nothing(self):
        tree = self.tree()
        tree.add_units("maas-regiond", "maas-rackd")
        before = snapshot(tree.root)
        result = self.install(tree, "--dry-run", "--restart")
        self.assertEqual(before, snapshot(tree.root))
        self.assertIn("would write " + tree.driver, result.stdout)
        self.assertIn("would register PowerbridgePowerDriver", result.stdout)
        self.assertIn("+    PowerbridgePowerDriver(),", result.stdout)
        self.assertIn("would run: systemctl restart maas-regiond",
                      result.stdout)

    def test_dry_run_uninstall_changes_nothing(self):
        tree = self.tree()
        self.install(tree)
        before = snapshot(tree.root)
        result = self.install(tree, "--uninstall", "--dry-run")
        self.assertEqual(before, snapshot(tree.root))
        self.assertIn("would restore", result.stdout)


class TestRefusals(InstallerCase):
    def assert_refused(self, tree, *args):
        before = snapshot(tree.root)
        result = self.run_installer(tree, *args)
        self.assertEqual(3, result.returncode, result.stdout + result.stderr)
        self.assertEqual(before, snapshot(tree.root))
        return result

    def snap_tree(self):
        tree = self.tree()
        shutil.rmtree(os.path.join(tree.root, "usr"))
        snap_site = os.path.join(tree.root, "snap", "maas", "current", "lib",
                                 "python3.6", "site-packages")
        power = os.path.join(snap_site, "provisioningserver", "drivers",
                             "power")
        os.makedirs(power)
        shutil.copy(os.path.join(support.FIXTURES, "registry-2.7.py"),
                    os.path.join(power, "registry.py"))
        return tree, snap_site

    def test_snap_install_is_refused_with_the_reason(self):
        tree, _ = self.snap_tree()
        result = self.assert_refused(tree)
        self.assertIn("snap", result.stderr)
        self.assertIn("read-only", result.stderr)

    def test_snap_site_packages_as_prefix_is_refused(self):
        tree, site = self.snap_tree()
        result = self.assert_refused(tree, "--prefix", site)
        self.assertIn("read-only", result.stderr)

    def test_snap_next_to_a_deb_tree_is_refused(self):
        tree = self.tree()
        os.makedirs(os.path.join(tree.root, "snap", "maas", "current"))
        self.assert_refused(tree)

    def test_maas_with_webhook_is_refused(self):
        tree = self.tree("registry-2.9.2-webhook.py")
        result = self.assert_refused(tree)
        self.assertIn("webhook", result.stderr)

    def test_force_installs_even_with_webhook(self):
        tree = self.tree("registry-2.9.2-webhook.py")
        self.install(tree, "--force")
        self.assertIn(b"PowerbridgePowerDriver(),", tree.registry_bytes())

    def test_dpkg_version_2_9_2_is_refused(self):
        tree = self.tree("registry-2.9.py")
        tree.add_dpkg_status("2.9.2-9164-g.ac176b5c4-0ubuntu1~20.04.1")
        result = self.assert_refused(tree)
        self.assertIn("2.9.2", result.stderr)

    def test_dpkg_version_2_7_is_reported_and_installed(self):
        tree = self.tree()
        tree.add_dpkg_status("2.7.3-8291-g.384e521e6-0ubuntu1~18.04.1")
        result = self.install(tree)
        self.assertIn("found MAAS 2.7.3-8291", result.stdout)

    def test_no_maas_is_an_error(self):
        tree = self.tree()
        os.unlink(tree.registry)
        result = self.run_installer(tree)
        self.assertEqual(1, result.returncode)
        self.assertIn("no deb-installed MAAS", result.stderr)

    def test_unexpected_registry_shape_changes_nothing(self):
        tree = self.tree()
        tree.write_registry(b"drivers = []\n")
        before = snapshot(tree.root)
        result = self.run_installer(tree)
        self.assertEqual(1, result.returncode)
        self.assertIn("power_drivers", result.stderr)
        self.assertEqual(before, snapshot(tree.root))

    def test_a_foreign_powerbridge_module_is_not_overwritten(self):
        tree = self.tree()
        with open(tree.driver, "w") as stream:
            stream.write("# someone else's driver\n")
        before = snapshot(tree.root)
        result = self.run_installer(tree)
        self.assertEqual(1, result.returncode)
        self.assertIn("not the powerbridge shim", result.stderr)
        self.assertEqual(before, snapshot(tree.root))


class TestRestart(InstallerCase):
    def fake_systemctl(self):
        directory = tempfile.mkdtemp(prefix="powerbridge-shim-bin.")
        self.addCleanup(shutil.rmtree, directory, True)
        log = os.path.join(directory, "calls")
        script = os.path.join(directory, "systemctl")
        with open(script, "w") as stream:
            stream.write(textwrap.dedent("""\
                #!/bin/sh
                echo "$*" >> "%s"
                """ % log))
        os.chmod(script, 0o755)
        env = {"PATH": directory + os.pathsep + os.environ.get("PATH", "")}
        return env, log

    def calls(self, log):
        if not os.path.exists(log):
            return []
        with open(log) as stream:
            return stream.read().splitlines()

    def test_restart_only_when_asked(self):
        tree = self.tree()
        tree.add_units("maas-regiond", "maas-rackd")
        env, log = self.fake_systemctl()
        result = self.run_installer(tree, env=env)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual([], self.calls(log))
        self.assertIn("restart maas-regiond and maas-rackd", result.stdout)
        result = self.run_installer(tree, "--restart", env=env)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(["restart maas-regiond", "restart maas-rackd"],
                         self.calls(log))

    def test_rack_only_host_restarts_rackd_only(self):
        tree = self.tree()
        tree.add_units("maas-rackd")
        env, log = self.fake_systemctl()
        result = self.run_installer(tree, "--restart", env=env)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(["restart maas-rackd"], self.calls(log))

    def test_uninstall_with_restart(self):
        tree = self.tree()
        tree.add_units("maas-regiond", "maas-rackd")
        env, log = self.fake_systemctl()
        self.install(tree)
        result = self.run_installer(tree, "--uninstall", "--restart", env=env)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(["restart maas-regiond", "restart maas-rackd"],
                         self.calls(log))

    def test_dry_run_restart_runs_nothing(self):
        tree = self.tree()
        tree.add_units("maas-regiond", "maas-rackd")
        env, log = self.fake_systemctl()
        result = self.run_installer(tree, "--restart", "--dry-run", env=env)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual([], self.calls(log))


if __name__ == "__main__":
    unittest.main()
