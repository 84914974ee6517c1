"""The fault suite's report: one row per workload and nemesis (phase), printed as a table and
written with everything else of the run (events, violations with their history excerpts) to a
JSON file; the full operation history goes to a JSON-lines file beside it."""

import json
import os

COLUMNS = (("workload", "workload"), ("nemesis", "nemesis"), ("attempted", "ops"),
           ("ok", "ok"), ("failed", "fail"), ("unknown", "unknown"),
           ("acknowledged_lost", "ack-lost"), ("stale_reads", "stale"), ("phantom", "phantom"),
           ("largest_siblings", "max-sib"), ("converge_s", "converge-s"),
           ("repair_s", "repair-s"), ("repaired_s", "repaired-s"))


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.2f" % v
    return str(v)


def table(rows):
    lines = [[h for _, h in COLUMNS]] + [[fmt(r.get(k)) for k, _ in COLUMNS] for r in rows]
    widths = [max(len(l[i]) for l in lines) for i in range(len(COLUMNS))]
    out = []
    for i, l in enumerate(lines):
        out.append("  ".join(c.rjust(w) if j >= 2 else c.ljust(w)
                             for j, (c, w) in enumerate(zip(l, widths))).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def write_json(path, report):
    with open(path + ".tmp", "w") as f:
        json.dump(report, f, indent=1, sort_keys=True, default=str)
        f.write("\n")
    os.replace(path + ".tmp", path)


def write_history(path, ops):
    with open(path, "w") as f:
        for op in ops:
            f.write(json.dumps(op, sort_keys=True, default=str) + "\n")


def excerpt(ops, key, around, before=6, after=3):
    """The ops on key near time `around` (a history excerpt for a violation)."""
    mine = sorted((o for o in ops if o.get("key") == key), key=lambda o: o["start"])
    idx = 0
    for i, o in enumerate(mine):
        if o["start"] <= around:
            idx = i
    return mine[max(0, idx - before): idx + after + 1]
