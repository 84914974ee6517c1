"""The Python client as an installable package: clients/python (pyproject.toml) built and
installed into a fresh virtual environment of Debian's /usr/bin/python3 with Debian's setuptools
(--no-build-isolation --no-index: nothing is downloaded; --system-site-packages for python3-zmq
and python3-msgpack), then the venv's python, away from this tree and with no PYTHONPATH, imports
the installed package and does a put and a get against a live local cluster (ringkv-local,
127.0.0.1 ports 29470-29492)."""
import os
import shutil
import unittest

from pkgtest import ROOT, VERSION, run, scratch
from localcluster import LocalCluster  # tests/clients, on the path through pkgtest

SCRIPT = """
import sys, ringkv
print("module=" + ringkv.__file__)
c = ringkv.Client(sys.argv[1:], timeout_ms=5000)
c.put("py-package-key", b"py-package-value")
print("values=%r" % (c.get("py-package-key").values,))
"""


class PythonPackageTest(unittest.TestCase):
    def test_venv_install_and_put_get(self):
        d = scratch("py-package")
        try:
            # A copy: building writes ringkv.egg-info and build/ beside the sources.
            src = os.path.join(d, "src")
            shutil.copytree(os.path.join(ROOT, "clients", "python"), src,
                            ignore=shutil.ignore_patterns("tests", "__pycache__", "*.egg-info"))
            venv = os.path.join(d, "venv")
            run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv])
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env["PIP_NO_INDEX"] = "1"
            env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
            py = os.path.join(venv, "bin", "python")
            run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", src],
                env=env, timeout=300)
            show = run([py, "-m", "pip", "show", "ringkv"], env=env).stdout
            self.assertIn("Version: " + VERSION, show, "pyproject.toml's version differs from CMake's")
            with LocalCluster(29470, nodes=3) as cluster:
                p = run([py, "-c", SCRIPT] + cluster.endpoints, env=env, cwd=d, timeout=60)
            print(p.stdout.strip())
            self.assertIn("module=" + venv, p.stdout, "not the installed package")
            self.assertIn("values=[b'py-package-value']", p.stdout)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
