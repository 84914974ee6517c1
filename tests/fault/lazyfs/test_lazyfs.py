"""Tests of ringkv-lazyfs, the FUSE file system that keeps unsynced writes in memory and drops
them on command (power loss): what survives a drop (synced data, sizes, all metadata), held
syncs, locks, SQLite in WAL mode (the gossip agent's stores), unmount on SIGTERM, and the real
ringkv-storage losing power on it and opening again with every acknowledged write.

Needs root and /dev/fuse; skips, saying why, without them. Storage agent port 20600."""
import errno
import fcntl
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "storage"))
from lazyfs_harness import LazyFs, mounted, skip_unless_available  # noqa: E402

STORAGE_PORT = 20600


def read(path):
    with open(path, "rb") as f:
        return f.read()


class LazyFsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        skip_unless_available()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ringkv-lazyfs-test-")
        self.fs = LazyFs(self.dir).start()
        self.m = self.fs.mount

    def tearDown(self):
        self.fs.stop()
        self.assertFalse(mounted(self.m), "%s still mounted after stop" % self.m)
        shutil.rmtree(self.dir, ignore_errors=True)

    def p(self, name):
        return os.path.join(self.m, name)

    def test_unsynced_writes_are_dropped_synced_kept(self):
        fd = os.open(self.p("f"), os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"A" * 1000)
        os.fdatasync(fd)
        os.pwrite(fd, b"B" * 10, 100)      # overwrite inside the synced part
        os.pwrite(fd, b"C" * 500, 1000)    # growth
        self.assertEqual(os.fstat(fd).st_size, 1500)
        self.assertEqual(os.path.getsize(self.p("f")), 1500)
        self.assertEqual(read(self.p("f")), b"A" * 100 + b"B" * 10 + b"A" * 890 + b"C" * 500)
        # The backing file holds only what was synced.
        self.assertEqual(read(os.path.join(self.fs.backing, "f")), b"A" * 1000)
        self.assertEqual(self.fs.status(), {"dirty_bytes": 510, "files": 1, "held": 0})
        os.close(fd)  # close makes nothing durable
        self.assertEqual(self.fs.ctl("drop-unsynced"), "ok dropped 510")
        self.assertEqual(os.path.getsize(self.p("f")), 1000)
        self.assertEqual(read(self.p("f")), b"A" * 1000)
        self.assertEqual(self.fs.status()["dirty_bytes"], 0)

    def test_new_file_never_synced_is_empty_after_drop(self):
        with open(self.p("new"), "wb") as f:
            f.write(b"x" * 4096)
        self.assertEqual(os.path.getsize(self.p("new")), 4096)
        self.fs.ctl_ok("drop-unsynced")
        # Metadata is immediate: the name survives, with its synced content (none).
        self.assertTrue(os.path.exists(self.p("new")))
        self.assertEqual(os.path.getsize(self.p("new")), 0)

    def test_sizes_truncate_fallocate_append(self):
        fd = os.open(self.p("t"), os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"0123456789")
        os.fsync(fd)
        os.ftruncate(fd, 4)
        os.ftruncate(fd, 8)  # grows with zeros, not the old bytes
        self.assertEqual(os.pread(fd, 100, 0), b"0123\0\0\0\0")
        os.posix_fallocate(fd, 0, 64)  # as the commit log preallocates: size 64, zeros
        self.assertEqual(os.fstat(fd).st_size, 64)
        self.assertEqual(os.lseek(fd, 0, os.SEEK_END), 64)
        self.assertEqual(os.pread(fd, 100, 0), b"0123" + b"\0" * 60)
        os.close(fd)
        self.fs.ctl_ok("drop-unsynced")
        self.assertEqual(read(self.p("t")), b"0123456789")
        # O_TRUNC is lazy too; O_APPEND appends at the logical end.
        fd = os.open(self.p("t"), os.O_WRONLY | os.O_TRUNC)
        self.assertEqual(os.fstat(fd).st_size, 0)
        os.close(fd)
        fd = os.open(self.p("t"), os.O_WRONLY | os.O_APPEND)
        os.write(fd, b"ab")
        os.write(fd, b"cd")
        os.fsync(fd)
        os.close(fd)
        self.assertEqual(read(self.p("t")), b"abcd")
        os.truncate(self.p("t"), 1)  # by path
        self.assertEqual(read(self.p("t")), b"a")
        self.fs.ctl_ok("drop-unsynced")
        self.assertEqual(read(self.p("t")), b"abcd")

    def test_rename_unlink_mkdir_readdir(self):
        os.mkdir(self.p("d"))
        fd = os.open(self.p("d/a.tmp"), os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"synced")
        os.fsync(fd)
        os.write(fd, b"+unsynced")
        os.close(fd)
        os.rename(self.p("d/a.tmp"), self.p("d/a"))  # the unsynced state follows the inode
        self.assertEqual(read(self.p("d/a")), b"synced+unsynced")
        with open(self.p("d/b"), "wb") as f:
            f.write(b"doomed")
        os.rename(self.p("d/a"), self.p("d/b"))  # over an existing file
        self.assertEqual(sorted(os.listdir(self.p("d"))), ["b"])
        dfd = os.open(self.p("d"), os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)  # fsyncdir
        os.close(dfd)
        self.assertEqual(self.fs.status()["files"], 1)
        self.assertEqual(self.fs.ctl("drop-unsynced"), "ok dropped 9")
        self.assertEqual(read(self.p("d/b")), b"synced")
        # An unlinked file open elsewhere: readable through its descriptor until closed.
        fd = os.open(self.p("d/b"), os.O_RDWR)
        os.pwrite(fd, b"S", 0)
        os.unlink(self.p("d/b"))
        self.assertEqual(os.pread(fd, 100, 0), b"Synced")
        os.close(fd)
        self.assertEqual(self.fs.status(), {"dirty_bytes": 0, "files": 0, "held": 0})
        os.rmdir(self.p("d"))
        self.assertEqual(os.listdir(self.m), [])

    def locked_for_another_process(self, path, call):
        """True when another process's fcntl.<call>(LOCK_EX | LOCK_NB) on `path` is refused."""
        code = ("import fcntl,os,sys\nfd=os.open(sys.argv[1],os.O_RDWR)\n"
                "try:\n fcntl.%s(fd,fcntl.LOCK_EX|fcntl.LOCK_NB)\n"
                "except OSError:\n sys.exit(7)\n" % call)
        return subprocess.run([sys.executable, "-c", code, path], timeout=30).returncode == 7

    def test_locks_exclude(self):
        # The engine's LOCK file: flock(LOCK_EX | LOCK_NB) from two open file descriptions.
        fd1 = os.open(self.p("LOCK"), os.O_RDWR | os.O_CREAT, 0o644)
        fd2 = os.open(self.p("LOCK"), os.O_RDWR)
        fcntl.flock(fd1, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with self.assertRaises(BlockingIOError):
            fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # And from another process (a second ringkv-storage on the directory).
        self.assertTrue(self.locked_for_another_process(self.p("LOCK"), "flock"))
        fcntl.flock(fd1, fcntl.LOCK_UN)
        fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd2, fcntl.LOCK_UN)
        self.assertFalse(self.locked_for_another_process(self.p("LOCK"), "flock"))
        # POSIX (fcntl) record locks, as SQLite takes them, across processes.
        fcntl.lockf(fd1, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.assertTrue(self.locked_for_another_process(self.p("LOCK"), "lockf"))
        os.close(fd1)
        os.close(fd2)

    def _fsync_in_thread(self, fd):
        result = {}

        def run():
            try:
                os.fdatasync(fd)
                result["ok"] = True
            except OSError as e:
                result["errno"] = e.errno
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, result

    def test_hold_syncs_blocks_until_release(self):
        fd = os.open(self.p("h"), os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"held write")
        self.assertEqual(self.fs.ctl("hold-syncs"), "ok held")
        self.assertEqual(self.fs.status()["held"], 1)
        t, result = self._fsync_in_thread(fd)
        t.join(0.8)
        self.assertTrue(t.is_alive(), "fdatasync returned while syncs were held: %r" % result)
        self.assertEqual(read(self.p("h")), b"held write")  # reads still work meanwhile
        self.assertEqual(self.fs.ctl("release-syncs"), "ok released")
        t.join(10)
        self.assertFalse(t.is_alive(), "fdatasync still blocked after release-syncs")
        self.assertEqual(result, {"ok": True})
        os.close(fd)
        self.assertEqual(self.fs.ctl("drop-unsynced"), "ok dropped 0")
        self.assertEqual(read(self.p("h")), b"held write")

    def test_drop_while_held_discards_and_fails_the_sync(self):
        fd = os.open(self.p("h"), os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"durable")
        os.fsync(fd)
        os.write(fd, b" never")
        self.fs.ctl_ok("hold-syncs")
        t, result = self._fsync_in_thread(fd)
        t.join(0.5)
        self.assertTrue(t.is_alive())
        self.assertEqual(self.fs.ctl("drop-unsynced"), "ok dropped 6")
        self.fs.ctl_ok("release-syncs")
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual(result, {"errno": errno.EIO})
        self.assertEqual(read(self.p("h")), b"durable")
        os.close(fd)

    def test_sigterm_unmounts_even_with_a_held_sync(self):
        fd = os.open(self.p("h"), os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"x")
        self.fs.ctl_ok("hold-syncs")
        t, result = self._fsync_in_thread(fd)
        t.join(0.3)
        self.assertTrue(t.is_alive())
        self.fs.proc.send_signal(signal.SIGTERM)
        rc = self.fs.proc.wait(15)
        self.assertEqual(rc, 0, self.fs.log())
        self.assertFalse(mounted(self.m), "still in /proc/mounts after SIGTERM")
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual(result, {"errno": errno.EIO})
        try:
            os.close(fd)
        except OSError:
            pass

    def test_sqlite_wal_as_the_gossip_agent_uses_it(self):
        path = self.p("ring.db")
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        db.commit()
        for i in range(50):
            db.execute("INSERT INTO t VALUES (?, ?)", (i, "v%d" % i))
            db.commit()
        # A second connection (another process would be the same): WAL index shared by mmap.
        db2 = sqlite3.connect(path)
        self.assertEqual(db2.execute("SELECT COUNT(*) FROM t").fetchone()[0], 50)
        db2.close()
        # Power loss with the connection still open: committed rows are synced, so they stay.
        self.fs.ctl_ok("drop-unsynced")
        db.close()
        db = sqlite3.connect(path)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        self.assertEqual(db.execute("SELECT COUNT(*) FROM t").fetchone()[0], 50)
        db.close()

    def test_storage_agent_loses_power_and_reopens(self):
        from storage_harness import Agent, Client  # noqa: E402
        data = self.p("data")
        acked = {}
        rounds = int(os.environ.get("RINGKV_LAZYFS_ROUNDS", "3"))
        total_dropped = 0
        for rnd in range(rounds):
            agent = Agent(data, STORAGE_PORT, "--sync", "batch", "--memtable-size", "256K",
                          log_path=os.path.join(self.dir, "storage.log")).start(timeout=30)
            try:
                c = Client(agent.endpoint, timeout_ms=5000)
                for k, v in acked.items():  # everything acknowledged before every power loss
                    r = c.call({"op": "get", "k": k})
                    self.assertTrue(r.get("ok"), r)
                    self.assertIn(v, r.get("st") or b"", "round %d: acknowledged %r lost:\n%s"
                                  % (rnd, k, agent.log_text()[-3000:]))
                c.close()
                stop = threading.Event()
                lock = threading.Lock()

                def writer(tid):
                    c = Client(agent.endpoint, timeout_ms=2000)
                    n = 0
                    while not stop.is_set() and n < 20000:
                        n += 1
                        k = b"r%d-t%d-%d" % (rnd, tid, n)
                        v = b"value-%d-%d-%d-%s" % (rnd, tid, n, os.urandom(8).hex().encode())
                        try:
                            r = c.call({"op": "update", "k": k, "v": v, "ms": 1000})
                        except Exception:  # noqa: BLE001 - killed: unacknowledged
                            break
                        if r.get("ok"):
                            with lock:
                                acked[k] = v
                    c.close()
                threads = [threading.Thread(target=writer, args=(i,), daemon=True)
                           for i in range(4)]
                for t in threads:
                    t.start()
                time.sleep(1.0 + random.random())
                # Power loss with writes in flight. Even rounds: syncs held a moment so that the
                # log surely has unsynced bytes (whose writes are not acknowledged); odd rounds:
                # at once, wherever the agent is (a log roll, a flush, a segment being zeroed).
                # Then SIGKILL, drop, and only then release (a killed agent cannot exit while
                # its fsync is held).
                if rnd % 2 == 0:
                    self.fs.ctl_ok("hold-syncs")
                    time.sleep(0.3)
                agent.send_signal(signal.SIGKILL)
                dropped = int(self.fs.ctl_ok("drop-unsynced").split()[-1])
                self.fs.ctl_ok("release-syncs")
                agent.wait(15)
                stop.set()
                for t in threads:
                    t.join(10)
            finally:
                self.fs.ctl("release-syncs")
                agent.ensure_dead()
            total_dropped += dropped
            print("round %d: %d acknowledged so far, %d unsynced bytes dropped"
                  % (rnd, len(acked), dropped), file=sys.stderr)
        self.assertGreater(len(acked), 100)
        self.assertGreater(total_dropped, 0, "no power loss ever found unsynced bytes to drop")
        agent = Agent(data, STORAGE_PORT, "--sync", "batch",
                      log_path=os.path.join(self.dir, "storage.log")).start(timeout=30)
        try:
            c = Client(agent.endpoint, timeout_ms=5000)
            lost = [k for k, v in acked.items()
                    if v not in (c.call({"op": "get", "k": k}).get("st") or b"")]
            self.assertEqual(lost, [], "%d of %d acknowledged writes lost after power losses"
                             % (len(lost), len(acked)))
            c.close()
        finally:
            agent.terminate()


if __name__ == "__main__":
    unittest.main(verbosity=2)
