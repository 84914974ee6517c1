"""`cmake --install` into a scratch prefix: the programs, the units (whose ExecStart= names the
installed programs), man pages, docs and the C++ client land in their FHS places; every unit
passes `systemd-analyze verify` against the installed binaries; each program answers --version
(with the project's version) and --help. Nothing is started: no ports."""
import glob
import gzip
import os
import shutil
import unittest

from pkgtest import AGENTS, PROGRAMS, ROOT, VERSION, install_prefix, run, scratch, verify_units


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = install_prefix(os.path.join(scratch("install"), "usr"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(os.path.dirname(cls.prefix), ignore_errors=True)

    def test_files_in_fhs_places(self):
        p = self.prefix
        for prog in PROGRAMS:
            self.assertTrue(os.access(os.path.join(p, "bin", prog), os.X_OK), prog)
            self.assertTrue(os.path.exists(os.path.join(p, "share/man/man1", prog + ".1.gz")), prog)
            self.assertTrue(os.path.exists(os.path.join(p, "share/doc/ringkv/help", prog + ".txt")))
        for f in ("share/doc/ringkv/README.md", "share/doc/ringkv/docs/ARCHITECTURE.md",
                  "include/ringkv/client.h", "lib/libringkv.a",
                  "lib/cmake/ringkv/ringkvConfig.cmake", "lib/sysusers.d/ringkv.conf",
                  "lib/tmpfiles.d/ringkv.conf"):
            self.assertTrue(os.path.exists(os.path.join(p, f)), f)

    def test_example_configs(self):
        """conf/*.conf of the repository (the annotated examples), when there are any, in
        PREFIX/etc/ringkv (the prefix is not /usr: /etc is for the package)."""
        confs = sorted(os.path.basename(c) for c in glob.glob(os.path.join(ROOT, "conf", "*.conf")))
        etc = os.path.join(self.prefix, "etc", "ringkv")
        installed = sorted(os.listdir(etc)) if os.path.isdir(etc) else []
        print("example configs:", confs or "none in conf/")
        self.assertEqual(installed, confs)

    def test_units_name_the_installed_programs_and_verify(self):
        unit_dir = os.path.join(self.prefix, "lib/systemd/system")
        for a in AGENTS:
            with open(os.path.join(unit_dir, "ringkv-%s@.service" % a)) as f:
                text = f.read()
            self.assertIn("ExecStart=%s/bin/ringkv-%s " % (self.prefix, a), text)
            self.assertIn("Type=notify", text)
            self.assertIn("WatchdogSec=", text)
        names = verify_units(unit_dir)
        print("verified:", " ".join(names))

    def test_security_exposure(self):
        """`systemd-analyze security` of each agent's unit: printed, and held at 2.0 or below
        (the units score 1.2 with what they need: the network, Unix sockets for sd_notify)."""
        unit_dir = os.path.join(self.prefix, "lib/systemd/system")
        env = dict(os.environ, SYSTEMD_UNIT_PATH=unit_dir + ":")
        for a in AGENTS:
            unit = "ringkv-%s@n1.service" % a
            p = run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                     "--threshold=20", unit], env=env, check=False)
            level = [l for l in p.stdout.splitlines() if "Overall exposure level" in l]
            self.assertEqual(len(level), 1, p.stdout + p.stderr)
            print(level[0].strip())
            self.assertEqual(p.returncode, 0, "%s exposure above 2.0: %s" % (unit, level[0]))

    def test_programs_answer_version_and_help(self):
        for prog in PROGRAMS:
            exe = os.path.join(self.prefix, "bin", prog)
            v = run([exe, "--version"], timeout=30)
            self.assertIn(VERSION, v.stdout, prog)
            self.assertTrue(v.stdout.startswith(prog), v.stdout)
            h = run([exe, "--help"], timeout=30)
            self.assertIn("Usage", h.stdout, prog)
            self.assertIn("--version", h.stdout, prog)

    def test_man_page_is_the_help(self):
        with gzip.open(os.path.join(self.prefix, "share/man/man1/ringkv-storage.1.gz"), "rt") as f:
            page = f.read()
        self.assertIn(".TH RINGKV-STORAGE", page)
        self.assertIn("data\\-dir", page)


if __name__ == "__main__":
    unittest.main(verbosity=2)
