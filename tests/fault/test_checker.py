#!/usr/bin/python3
"""Unit tests of the fault suite's checkers (tests/fault/checker.py) on hand-made histories:
each violation the suite claims to find is found, and the legal histories next to it pass.
No cluster, no namespaces."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

import checker  # noqa: E402
import report  # noqa: E402


def add(elem, key="k", outcome="ok", code="", start=0.0, end=0.1, kind="add"):
    return {"wl": "set", "phase": "p", "kind": kind, "key": key, "elem": elem, "start": start,
            "end": end, "outcome": outcome, "code": code}


def write(value, supersedes, start, end, outcome="ok", key="r"):
    return {"wl": "register", "phase": "p", "kind": "write", "key": key, "value": value,
            "supersedes": supersedes, "start": start, "end": end, "outcome": outcome, "code": ""}


def read(values, start, end, key="r", outcome="ok"):
    return {"wl": "register", "phase": "p", "kind": "read", "key": key, "values": values,
            "start": start, "end": end, "outcome": outcome, "code": ""}


class SetChecker(unittest.TestCase):
    def test_every_acknowledged_element_present_passes(self):
        ops = [add(1), add(2, kind="blind-add"), add(3, outcome="unknown", code="timeout")]
        r = checker.check_set(ops, {"k": [b"1,3", b"2"]})
        self.assertEqual(r["lost"], [])
        self.assertEqual(r["phantom"], [])
        self.assertEqual(r["unknown_present"], 1)

    def test_acknowledged_element_missing_is_lost(self):
        ops = [add(1), add(2), add(3, outcome="unknown", code="timeout")]
        r = checker.check_set(ops, {"k": [b"1"]})
        self.assertEqual([l["elem"] for l in r["lost"]], [2])  # 3 was never acknowledged

    def test_element_of_a_definitely_failed_put_is_phantom(self):
        ops = [add(1), add(2, outcome="fail", code="unavailable")]
        r = checker.check_set(ops, {"k": [b"1,2", b"7"]})
        self.assertEqual(sorted(p["elem"] for p in r["phantom"]), [2, 7])

    def test_foreign_value_and_unreadable_key(self):
        r = checker.check_set([add(1, key="a"), add(2, key="b")], {"a": [b"1", b"xyz"], "b": None})
        self.assertEqual(len(r["bad_values"]), 1)
        self.assertEqual(r["unreadable"], ["b"])
        self.assertEqual(r["unchecked_acked"], 1)


class RegisterChecker(unittest.TestCase):
    def test_read_of_the_latest_or_a_descendant_passes(self):
        ops = [write("a", [], 0, 1), read(["a"], 2, 3), write("b", ["a"], 3, 4),
               read(["b"], 5, 6),
               # a read concurrent with the write of c may still see b
               write("c", ["b"], 7, 9), read(["b"], 8, 8.5),
               # siblings: d and e both descend from c
               write("d", ["c"], 10, 11), write("e", ["c"], 10, 11.5), read(["d", "e"], 12, 13),
               # a read that failed says nothing
               read(None, 14, 15, outcome="unknown")]
        r = checker.check_register(ops)
        self.assertEqual(r["stale"], [])
        self.assertEqual(r["phantom"], [])

    def test_superseded_value_after_ack_is_stale(self):
        ops = [write("a", [], 0, 1), write("b", ["a"], 2, 3), read(["a"], 4, 5)]
        r = checker.check_register(ops)
        self.assertEqual(len(r["stale"]), 1)
        self.assertEqual(r["stale"][0]["put"]["value"], "b")

    def test_lost_acknowledged_put_is_stale(self):
        ops = [write("a", [], 0, 1), read([], 2, 3)]
        self.assertEqual(len(checker.check_register(ops)["stale"]), 1)

    def test_descendant_through_an_unknown_put_counts(self):
        # b acknowledged; c (outcome unknown) descends from b and may legitimately be read.
        ops = [write("b", [], 0, 1), write("c", ["b"], 2, 3, outcome="unknown"),
               read(["c"], 4, 5)]
        self.assertEqual(checker.check_register(ops)["stale"], [])

    def test_concurrent_sibling_without_the_put_is_stale(self):
        # x was written blind beside a; a read after a's ack that shows only x lost a.
        ops = [write("a", [], 0, 1), write("x", [], 0, 1.5), read(["x"], 2, 3)]
        self.assertEqual(len(checker.check_register(ops)["stale"]), 1)

    def test_never_written_and_failed_values_are_phantom(self):
        ops = [write("a", [], 0, 1), write("f", ["a"], 1, 2, outcome="fail"),
               read(["a", "f", "zz"], 3, 4)]
        r = checker.check_register(ops)
        self.assertEqual(r["phantom"][0]["values"], ["f", "zz"])

    def test_keys_are_independent(self):
        ops = [write("a", [], 0, 1, key="r1"), read(["q"], 2, 3, key="r2"),
               write("q", [], 0, 0.5, key="r2")]
        self.assertEqual(checker.check_register(ops)["stale"], [])


class Report(unittest.TestCase):
    def test_table_has_every_row(self):
        rows = [{"workload": "set", "nemesis": "kill", "attempted": 3, "ok": 2, "failed": 1,
                 "unknown": 0, "acknowledged_lost": 0, "stale_reads": None, "phantom": 0,
                 "largest_siblings": 2, "converge_s": 1.234}]
        text = report.table(rows)
        self.assertIn("kill", text)
        self.assertIn("1.23", text)
        self.assertEqual(len(text.splitlines()), 3)


if __name__ == "__main__":
    unittest.main()
