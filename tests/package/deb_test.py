"""`cpack -G DEB` from the build directory gives ringkv_<version>_amd64.deb: its Depends come from
dpkg-shlibdeps (libzmq5 and the others the programs link), it holds the programs, the units, the
man pages and the C++ client, and its maintainer scripts work: installed with dpkg into a scratch
root (dpkg --root, scripts run chrootless with DPKG_ROOT), the postinst creates the ringkv system
user and /var/lib/ringkv there; the programs run (--version, --help) and the units verify
against the root's binaries; a purge removes the files and /var/lib/ringkv. No ports."""
import glob
import os
import pwd
import shutil
import stat
import unittest

from pkgtest import AGENTS, BUILD, PROGRAMS, ROOT, VERSION, run, scratch, verify_units


class DebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = scratch("deb")
        cls.host_had_ringkv = _host_has_ringkv()
        out = os.path.join(cls.dir, "out")
        # -B: the package (and CPack's staging) in the scratch directory, not in build/.
        run(["cpack", "-G", "DEB", "-B", out, "--config",
             os.path.join(BUILD, "CPackConfig.cmake")], timeout=900)
        cls.deb = os.path.join(out, "ringkv_%s_amd64.deb" % VERSION)
        assert os.path.exists(cls.deb), os.listdir(out)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def field(self, name):
        return run(["dpkg-deb", "--field", self.deb, name]).stdout.strip()

    def test_control_fields(self):
        self.assertEqual(self.field("Package"), "ringkv")
        self.assertEqual(self.field("Version"), VERSION)
        self.assertEqual(self.field("Architecture"), "amd64")
        depends = self.field("Depends")
        print("Depends:", depends)
        # From dpkg-shlibdeps: the libraries the programs link, with versions.
        names = [d.split()[0] for d in depends.split(", ")]
        for lib in ("libzmq5", "libsqlite3-0", "libzstd1", "libsystemd0", "libc6",
                    "libboost-program-options1.74.0"):
            self.assertIn(lib, names)
        self.assertIn("libzmq5 (>=", depends)
        contents = run(["dpkg-deb", "--contents", self.deb]).stdout
        for f in ["./usr/bin/" + p for p in PROGRAMS] + [
                "./usr/lib/systemd/system/ringkv-%s@.service" % a for a in AGENTS] + [
                "./usr/lib/systemd/system/ringkv@.target", "./usr/share/man/man1/ringkv.1.gz",
                "./usr/include/ringkv/client.h", "./usr/lib/sysusers.d/ringkv.conf"]:
            self.assertIn(f + "\n", contents + "\n", f)
        self.assertNotIn("/usr/local", contents)
        # The annotated example configs (conf/*.conf), when there are any: conffiles in /etc.
        confs = sorted(os.path.basename(c) for c in glob.glob(os.path.join(ROOT, "conf", "*.conf")))
        info = run(["dpkg-deb", "--info", self.deb]).stdout
        for c in confs:
            self.assertIn("./etc/ringkv/%s\n" % c, contents)
        self.assertEqual("conffiles" in info, bool(confs), info)

    def test_install_run_verify_purge_in_a_scratch_root(self):
        root = os.path.join(self.dir, "root")
        admin = os.path.join(root, "var/lib/dpkg")
        for d in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, d))
        for f in ("status", "available"):
            open(os.path.join(admin, f), "w").close()
        os.makedirs(os.path.join(root, "etc"))
        # The libraries are this host's (the root's dpkg database knows none of them).
        dpkg = ["dpkg", "--root=" + root, "--force-script-chrootless", "--force-depends",
                "--log=/dev/null"]
        p = run(dpkg + ["--install", self.deb], timeout=300)
        print(p.stdout.strip())

        # postinst: the system user (sysusers.d) and /var/lib/ringkv (tmpfiles.d), in the root.
        with open(os.path.join(root, "etc/passwd")) as f:
            entry = [l for l in f.read().splitlines() if l.startswith("ringkv:")]
        self.assertEqual(len(entry), 1, "no ringkv user in the root's /etc/passwd")
        fields = entry[0].split(":")
        self.assertLess(int(fields[2]), 1000, "not a system user: %s" % entry[0])
        self.assertEqual(fields[5], "/var/lib/ringkv")
        state = os.stat(os.path.join(root, "var/lib/ringkv"))
        self.assertEqual(state.st_uid, int(fields[2]))
        self.assertEqual(stat.S_IMODE(state.st_mode), 0o750)
        self.assertEqual(_host_has_ringkv(), self.host_had_ringkv, "the host's users changed")

        for prog in PROGRAMS:
            exe = os.path.join(root, "usr/bin", prog)
            self.assertIn(VERSION, run([exe, "--version"], timeout=30).stdout)
            self.assertIn("Usage", run([exe, "--help"], timeout=30).stdout)
        unit_dir = os.path.join(root, "usr/lib/systemd/system")
        for a in AGENTS:
            with open(os.path.join(unit_dir, "ringkv-%s@.service" % a)) as f:
                self.assertIn("ExecStart=/usr/bin/ringkv-%s " % a, f.read())
        # The package depends on systemd: the root gets this host's systemd units (targets,
        # slices) in /lib/systemd/system, which verify resolves inside the root.
        shutil.copytree("/lib/systemd/system", os.path.join(root, "lib/systemd/system"),
                        symlinks=True)
        print("verified in the root:", " ".join(verify_units(unit_dir, root=root)))
        shutil.rmtree(os.path.join(root, "lib"))

        run(dpkg + ["--purge", "ringkv"], timeout=300)
        left = []
        for d, _, files in os.walk(os.path.join(root, "usr")):
            left += [os.path.join(d, f) for f in files]
        self.assertEqual(left, [], "files left after purge")
        self.assertFalse(os.path.exists(os.path.join(root, "var/lib/ringkv")))


def _host_has_ringkv():
    """The scratch install must not touch this host's users."""
    try:
        pwd.getpwnam("ringkv")
        return True
    except KeyError:
        return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
