"""The checkers of the fault suite: they read the History (and the final reads) and count what
the store promised and broke.

set       acknowledged-lost: an element whose add was acknowledged (ok) and that a final read
          at r=all, after heal, hint delivery and convergence, does not contain.
          phantom: an element in a final read that no put ever carried, or only puts that were
          told a "nothing written" error; also any value that is not a set this suite wrote.
register  stale: an ok read (under consistency strong) that began after a put P was
          acknowledged and returned neither P's value nor any value that descends from it
          (a value written by a put whose ctx covered P's value, transitively). That covers
          both "returned a value P superseded" and "lost P". phantom: a value no put carried,
          or only a put that failed with a "nothing written" error.

A put's ctx covers exactly the values of the get it came from (the workloads always put with
the ctx of the read just before), which is what makes "descends from" computable here.
"""

import workloads

DEFINITE_FAIL = "fail"


def set_elements(values):
    """(elements, bad values) of a list of set values."""
    elems, bad = set(), []
    for v in values:
        s = workloads.decode_set(v)
        if s is None:
            bad.append(repr(v)[:200])
        else:
            elems |= s
    return elems, bad


def check_set(ops, finals):
    """ops: the set workload's ops (of some phases); finals: {key: [values] or None}.
    Returns a dict with lost (list of {elem, key, op}), phantom, recovered unknowns and keys
    that could not be read."""
    acked, sent, maybe_written = {}, {}, set()
    for op in ops:
        if op.get("kind") not in ("add", "blind-add"):
            continue
        sent[op["elem"]] = op
        if op["outcome"] == "ok":
            acked[op["elem"]] = op
        if op["outcome"] != DEFINITE_FAIL:
            maybe_written.add(op["elem"])
    present, unreadable, bad = {}, [], []
    for key, values in finals.items():
        if values is None:
            unreadable.append(key)
            continue
        elems, b = set_elements(values)
        present[key] = elems
        bad += b
    lost, unchecked = [], 0
    for elem, op in sorted(acked.items()):
        if op["key"] not in present:
            unchecked += 1
            continue
        if elem not in present[op["key"]]:
            lost.append({"elem": elem, "key": op["key"], "op": op})
    phantom = []
    for key, elems in present.items():
        for e in sorted(elems):
            if e not in maybe_written:
                phantom.append({"elem": e, "key": key, "op": sent.get(e)})
    recovered = sum(1 for op in ops if op.get("kind") in ("add", "blind-add")
                    and op["outcome"] == "unknown" and op["key"] in present
                    and op["elem"] in present[op["key"]])
    return {"lost": lost, "phantom": phantom, "bad_values": bad, "unreadable": unreadable,
            "unchecked_acked": unchecked, "unknown_present": recovered}


def _ancestry(writes):
    """{value: bitmask of the writes it descends from, itself included}, bit i = writes[i]
    (writes sorted by start). A put's parents are values its get returned, so they were written
    by puts that started before it: one pass in start order sees every parent first. Python
    ints as bit sets keep this linear in memory per value and fast on long chains."""
    index = {w["value"]: i for i, w in enumerate(writes)}
    anc = {}
    for i, w in enumerate(writes):
        mask = 1 << i
        for parent in w.get("supersedes") or []:
            mask |= anc.get(parent, 0)
        anc[w["value"]] = mask
    return index, anc


def check_register(ops):
    """ops: every register op of the run. Returns {stale: [...], phantom: [...]} where each
    entry names the read and (for stale) the acknowledged put it failed to reflect.

    A read R is stale when some put P acknowledged before R began is not an ancestor of any
    value R returned (P's value nor a descendant of it was returned)."""
    by_key = {}
    for op in ops:
        if op.get("wl") == "register":
            by_key.setdefault(op.get("key"), []).append(op)
    stale, phantom = [], []
    for key, kops in by_key.items():
        writes = sorted((o for o in kops if o.get("kind") == "write"
                         and o["outcome"] != DEFINITE_FAIL), key=lambda w: w["start"])
        index, anc = _ancestry(writes)
        acked = sorted((w for w in writes if w["outcome"] == "ok"), key=lambda w: w["end"])
        reads = sorted((o for o in kops if o.get("kind") in ("read", "final")
                        and o["outcome"] == "ok" and o.get("values") is not None),
                       key=lambda o: o["start"])
        before = 0   # bitmask of the puts acknowledged before the current read began
        j = 0
        for r in reads:
            while j < len(acked) and acked[j]["end"] < r["start"]:
                before |= 1 << index[acked[j]["value"]]
                j += 1
            never = sorted(v for v in set(r["values"]) if v not in anc)
            if never:
                phantom.append({"read": r, "values": never})
            seen = 0
            for v in r["values"]:
                seen |= anc.get(v, 0)
            missed = before & ~seen
            if missed:
                first = (missed & -missed).bit_length() - 1
                stale.append({"read": r, "put": writes[first]})
    return {"stale": stale, "phantom": phantom}


def largest_siblings(ops):
    return max([op.get("siblings") or 0 for op in ops] or [0])


def counts(ops, kinds):
    mine = [op for op in ops if op.get("kind") in kinds]
    return {"attempted": len(mine),
            "ok": sum(1 for o in mine if o["outcome"] == "ok"),
            "failed": sum(1 for o in mine if o["outcome"] == "fail"),
            "unknown": sum(1 for o in mine if o["outcome"] == "unknown")}
