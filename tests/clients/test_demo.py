"""scripts/demo.sh (the README's main job after the build) on ports 22700-22729: it runs to the
end, shows what it promises, and leaves the cluster running for `ringkv-local down`."""

import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import BIN, ROOT, binary, run  # noqa: E402


class DemoTest(unittest.TestCase):
    def test_demo(self):
        d = tempfile.mkdtemp(prefix="ringkv-demo-")
        try:
            env = dict(os.environ, RINGKV_BIN=BIN, RINGKV_DEMO_BASE_PORT="22700")
            p = run(["bash", os.path.join(ROOT, "scripts", "demo.sh"), d], env=env, timeout=180)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            out = p.stdout
            for expected in ("tcp://127.0.0.1:22700\n", "$ ringkv get greeting\nhello\n",
                             "2 siblings:\n[1] blue\n[2] red\n",
                             "$ ringkv resolve color --pick 2\n$ ringkv get color\nred\n",
                             "ringkv: not found: greeting", "NODE  DC   STATE   ",
                             "ringkv-local down --dir " + d):
                self.assertIn(expected, out + p.stderr)
            st = run([binary("ringkv-local"), "status", "--dir", d])
            self.assertEqual(st.stdout.count(" up"), 9, st.stdout)  # still running
        finally:
            run([binary("ringkv-local"), "down", "--dir", d])
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
