"""The inner run of the fault suite, inside the client namespace (run_faults.py starts it there):
starts the cluster, runs one phase per nemesis, checks, reports.

A phase: fresh keys; the set and register workloads start; after `pre` seconds the nemesis is
applied and healed `cycles` times (held `hold` seconds, then `gap` seconds of healed running);
the workloads stop at the last heal; then the run waits until hints are delivered and every
coordinator returns the same read for every key of the phase (converge-s: from the last heal),
runs `ringkv repair` (repair-s: its time; repaired-s: from the last heal to its end, every
replica compared and repaired), and reads the set keys at r=all and the register keys under
strong. After the last phase every set key of the run is read again at r=all.
"""

import os
import random
import signal
import subprocess
import sys
import time
import traceback

import checker
import cluster as cl
import lab
import nemesis as nm
import proto
import report
import workloads as wl

MIN_ACKED_ADDS = 50
MIN_ACKED_WRITES = 20
MAX_EXCERPTS = 20
SKIPPED_RC = 77   # every check that ran passed, power loss did not run (CTest: skipped)


class Interrupted(Exception):
    pass


class Run:
    def __init__(self, args, profile, say):
        self.args, self.profile, self.say = args, profile, say
        self.rng = random.Random(args.seed)
        self.t0 = time.monotonic()
        self.history = wl.History(self.t0)
        self.lazyfs_binary, self.lazyfs_missing = cl.lazyfs_available(
            os.path.join(args.bin, "ringkv-lazyfs"))
        self.cluster = cl.Cluster(args.dir, args.bin, self.lazyfs_binary, log=say,
                                  storage_opts=args.storage_opt)
        self.phases = []        # per phase: dict of what happened
        self.problems = []      # anything that fails the run besides the checkers' counts
        self.skipped = []

    def now(self):
        return self.history.now()

    def event(self, phase, what, line):
        t = self.now()
        phase["events"].append({"t": t, "what": what, "line": line})
        self.say("[%s] %s: %s" % (phase["name"], what, line))

    def problem(self, phase, line):
        self.problems.append({"phase": phase["name"] if phase else None, "problem": line})
        self.say("PROBLEM: %s" % line)

    # -- one phase ----------------------------------------------------------------------------

    def run_phase(self, idx, spec):
        name, cycles, hold, gap = spec
        phase = {"name": "%d-%s" % (idx, name), "nemesis": name, "events": [],
                 "cycles": cycles, "hold_s": hold, "gap_s": gap}
        self.phases.append(phase)
        nem = nm.BY_NAME[name](self.cluster, random.Random(self.rng.random()))
        if nem.needs_lazyfs and not self.cluster.lazyfs:
            phase["skipped"] = "ringkv-lazyfs cannot run: %s: power loss NOT tested" % (
                self.lazyfs_missing)
            self.skipped.append(phase["skipped"])
            self.say("SKIPPED %s: %s" % (phase["name"], phase["skipped"]))
            return
        p = self.profile
        tag = "p%d" % idx
        phase["set_keys"] = ["%s-set-%d" % (tag, i) for i in range(p.set_keys)]
        phase["reg_keys"] = ["%s-reg-%d" % (tag, i) for i in range(p.reg_keys)]
        endpoints = self.cluster.coordinator_endpoints()
        budget = p.pre_s + cycles * (hold + gap) + 60
        wls = [wl.SetWorkload(self.history, endpoints, phase["set_keys"], p.set_workers,
                              phase["name"], self.rng.random(), budget,
                              elem_base=(idx + 1) * 10000000),
               wl.RegisterWorkload(self.history, endpoints, phase["reg_keys"], p.reg_workers,
                                   phase["name"], self.rng.random(), budget)]
        for w in wls:
            w.start()
        phase["t_start"] = self.now()
        try:
            time.sleep(p.pre_s)
            for c in range(cycles):
                self.event(phase, "apply", nem.apply())
                time.sleep(hold)
                self.event(phase, "heal", nem.heal())
                phase["t_heal"] = self.now()
                if c + 1 < cycles:
                    time.sleep(gap)
        except (cl.ClusterError, lab.LabError) as e:
            self.problem(phase, "%s: %s" % (name, e))
            self.recover(phase, nem)
            phase["t_heal"] = self.now()
        finally:
            for w in wls:
                if not w.stop():
                    self.problem(phase, "a %s worker did not stop" % w.name)
            phase["set_keys"] = list(wls[0].all_keys)
        phase["t_quiesce"] = self.now()
        self.check_agents(phase)
        self.settle(phase)
        self.repair_step(phase)
        phase["set_final"] = {k: wl.read_once(self.history, endpoints, k, "all", "eventual",
                                              phase["name"], "set") for k in phase["set_keys"]}
        for k in phase["reg_keys"]:
            wl.read_once(self.history, endpoints, k, "quorum", "strong", phase["name"], "register")
        phase["done"] = True

    def recover(self, phase, nem):
        """After a nemesis failed half-way: heal what it can, restart what is dead."""
        try:
            self.event(phase, "heal", nem.heal())
        except (cl.ClusterError, lab.LabError) as e:
            self.problem(phase, "heal after failure: %s" % e)
        for ns in [n.ns for n in self.cluster.nodes]:
            try:
                lab.nft_flush(ns)
            except Exception as e:  # noqa: BLE001
                self.problem(phase, "nft flush %s: %s" % (ns, e))

    def check_agents(self, phase):
        """An agent that exited without a nemesis killing it is a failure of the run (and is
        restarted so that later phases can run)."""
        dead = self.cluster.dead_agents()
        for a in dead:
            self.problem(phase, "%s exited on its own (%s); last lines of %s:\n%s" % (
                a.label(), a.exit_status(), a.log, a.log_tail()))
        if dead:
            try:
                self.cluster.restart(dead)
            except cl.ClusterError as e:
                self.problem(phase, "restart: %s" % e)

    def settle(self, phase):
        """Waits until every gossip agent holds no hint and every coordinator returns the same
        read (r=one) for every key of the phase. Records converge_s from the last heal."""
        keys = phase["set_keys"] + phase["reg_keys"]
        endpoints = self.cluster.coordinator_endpoints()
        deadline = time.monotonic() + self.profile.converge_wait_s
        conns = [proto.Conn([e]) for e in endpoints]
        phase["converge_s"] = None
        phase["hints_drained_s"] = None
        polls = 0
        last = ""
        try:
            while time.monotonic() < deadline:
                polls += 1
                hints = self.cluster.hints_pending()
                drained = all(v == 0 for v in hints.values())
                if drained and phase["hints_drained_s"] is None:
                    phase["hints_drained_s"] = round(self.now() - phase["t_heal"], 3)
                same = True
                for k in keys:
                    answers = set()
                    for c in conns:
                        outcome, rep, code = c.call({"op": "get", "key": k.encode(), "r": "one",
                                                     "consistency": "eventual"}, 1000)
                        if outcome != "ok":
                            answers.add(("error", code))
                        else:
                            answers.add((bool(rep.get("found")),
                                         tuple(sorted(bytes(v) for v in rep.get("values") or []))))
                    if len(answers) != 1 or ("error" in next(iter(answers))):
                        same = False
                        last = "key %s: %d different answers" % (k, len(answers))
                        break
                if drained and same:
                    phase["converge_s"] = round(self.now() - phase["t_heal"], 3)
                    break
                if not drained:
                    last = "hints pending %s" % hints
                time.sleep(0.2)
        finally:
            for c in conns:
                c.close()
        phase["converge_polls"] = polls
        if phase["converge_s"] is None:
            self.problem(phase, "no convergence within %.0f s of quiescence (%s)" % (
                self.profile.converge_wait_s, last))
        else:
            self.event(phase, "converged", "%.2f s after the heal (%d polls)" % (
                phase["converge_s"], polls))

    def repair_step(self, phase):
        """Anti-entropy after the phase (docs/anti-entropy.md): `ringkv repair` through the
        first coordinator compares every range on every replica and repairs what read repair and
        hints left. Records repair_s (the repair alone) and repaired_s (from the last heal to the
        end of the repair: convergence of every replica, not only of what reads see). A repair
        that does not complete is a problem of the run."""
        endpoints = self.cluster.coordinator_endpoints()
        t0 = self.now()
        phase["repair_s"] = phase["repaired_s"] = None
        try:
            p = subprocess.run([os.path.join(self.cluster.bin_dir, "ringkv"), "--endpoints",
                                endpoints[0], "--timeout", "5000", "repair"],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=self.profile.converge_wait_s + 120)
        except subprocess.TimeoutExpired:
            self.problem(phase, "ringkv repair did not end in time")
            return
        if p.returncode != 0:
            self.problem(phase, "ringkv repair exited %d: %s" % (
                p.returncode, (p.stdout + p.stderr).strip()[-400:]))
            return
        phase["repair_s"] = round(self.now() - t0, 3)
        phase["repaired_s"] = round(self.now() - phase["t_heal"], 3)
        self.event(phase, "repaired", p.stdout.strip())

    def lab_selftest(self):
        """A nemesis that cuts nothing would make every check pass: before the phases, a TCP
        connect from n1's namespace to n2's storage agent must work, fail while n2 drops n1's
        packets, and work again after the flush."""
        a, b = self.cluster.nodes[0], self.cluster.nodes[1]

        def connects():
            probe = ("import socket, sys\n"
                     "try:\n"
                     "    socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()\n"
                     "except OSError:\n"
                     "    sys.exit(1)\n")
            r = subprocess.run(lab.in_ns(a.ns, [sys.executable, "-c", probe, b.addr,
                                                str(cl.PORTS["storage"])]),
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
            return r.returncode == 0

        before = connects()
        lab.nft_drop_from(b.ns, [a.addr])
        try:
            during = connects()
        finally:
            lab.nft_flush(b.ns)
        after = connects()
        if (before, during, after) != (True, False, True):
            raise cl.ClusterError("lab self-test: %s -> %s storage connects before/while cut/"
                                  "after: %s/%s/%s (want True/False/True)" % (
                                      a.id, b.id, before, during, after))
        self.say("lab self-test: a cut of %s -> %s stops a TCP connect, its flush lets it "
                 "through" % (a.id, b.id))

    # -- the whole run ------------------------------------------------------------------------

    def run(self):
        only = set(self.args.only.split(",")) if self.args.only else None
        if only:
            unknown = only - set(nm.BY_NAME)
            if unknown:
                raise SystemExit("--only: unknown nemesis %s (known: %s)" % (
                    ", ".join(sorted(unknown)), ", ".join(nm.BY_NAME)))
        self.say("profile %s (%d phases, about %.0f s of faults); lazyfs: %s" % (
            self.profile.name, len(self.profile.phases), self.profile.budget_s(),
            self.lazyfs_binary or "MISSING (%s)" % self.lazyfs_missing))
        self.cluster.start()
        self.say("cluster up: %s" % ", ".join("%s(%s)=%s" % (n.id, n.dc, n.addr)
                                               for n in self.cluster.nodes))
        self.lab_selftest()
        for idx, spec in enumerate(self.profile.phases):
            if only and spec[0] not in only:
                continue
            self.run_phase(idx, spec)
        endpoints = self.cluster.coordinator_endpoints()
        self.final = {}
        for ph in self.phases:
            for k in ph.get("set_keys", []):
                self.final[k] = wl.read_once(self.history, endpoints, k, "all", "eventual",
                                             "end", "set")

    def results(self):
        ops = self.history.ops
        reg = checker.check_register(ops)
        rows, violations = [], []
        totals = {"set": [], "register": []}
        excerpts = [0]

        def excerpt(key, t):
            # The first violations get the history around them; a flood of them would make
            # the report as big as the history (which is beside it anyway).
            excerpts[0] += 1
            return report.excerpt(ops, key, t) if excerpts[0] <= MAX_EXCERPTS else None
        for ph in self.phases:
            if ph.get("skipped"):
                for w in ("set", "register"):
                    rows.append({"workload": w, "nemesis": ph["nemesis"] + " (SKIPPED)"})
                continue
            mine = [o for o in ops if o.get("phase") == ph["name"]]
            set_ops = [o for o in mine if o["wl"] == "set"]
            at_phase = checker.check_set(set_ops, ph["set_final"])
            at_end = checker.check_set(set_ops, {k: self.final.get(k) for k in ph["set_keys"]})
            lost = {l["elem"]: l for l in at_phase["lost"] + at_end["lost"]}
            phantom = {p["elem"]: p for p in at_phase["phantom"] + at_end["phantom"]}
            unreadable = at_phase["unreadable"] + at_end["unreadable"]
            bad = at_phase["bad_values"] + at_end["bad_values"] + [
                o["value"] for o in set_ops if o.get("kind") == "bad-value"]
            for l in lost.values():
                violations.append({"type": "set acknowledged-lost", "phase": ph["name"],
                                   "elem": l["elem"], "key": l["key"], "op": l["op"],
                                   "missing_at": "phase check" if l in at_phase["lost"]
                                   else "end check",
                                   "history": excerpt(l["key"], l["op"]["start"])})
            for p in phantom.values():
                violations.append({"type": "set phantom element", "phase": ph["name"],
                                   "elem": p["elem"], "key": p["key"], "op": p["op"]})
            for b in bad:
                violations.append({"type": "set value never written", "phase": ph["name"],
                                   "value": b})
            for k in unreadable if ph.get("done") else []:
                self.problems.append({"phase": ph["name"],
                                      "problem": "final r=all read of %s failed" % k})
            row = {"workload": "set", "nemesis": ph["nemesis"]}
            row.update(checker.counts(set_ops, ("add", "blind-add")))
            row.update(acknowledged_lost=len(lost), stale_reads=None,
                       phantom=len(phantom) + len(bad),
                       largest_siblings=checker.largest_siblings(set_ops),
                       converge_s=ph.get("converge_s"),
                       repair_s=ph.get("repair_s"), repaired_s=ph.get("repaired_s"),
                       unknown_present=at_end["unknown_present"])
            rows.append(row)
            totals["set"].append(row)
            reg_ops = [o for o in mine if o["wl"] == "register"]
            stale = [s for s in reg["stale"] if s["read"]["phase"] == ph["name"]]
            rph = [p for p in reg["phantom"] if p["read"]["phase"] == ph["name"]]
            for s in stale:
                violations.append({"type": "register stale read", "phase": ph["name"],
                                   "read": s["read"], "put": s["put"],
                                   "history": excerpt(s["read"]["key"], s["read"]["start"])})
            for p in rph:
                violations.append({"type": "register value never written",
                                   "phase": ph["name"], "read": p["read"],
                                   "values": p["values"]})
            row = {"workload": "register", "nemesis": ph["nemesis"]}
            row.update(checker.counts(reg_ops, ("read", "write")))
            row.update(acknowledged_lost=None, stale_reads=len(stale), phantom=len(rph),
                       largest_siblings=checker.largest_siblings(reg_ops),
                       converge_s=ph.get("converge_s"),
                       repair_s=ph.get("repair_s"), repaired_s=ph.get("repaired_s"),
                       writes_ok=sum(1 for o in reg_ops
                                     if o["kind"] == "write" and o["outcome"] == "ok"))
            rows.append(row)
            totals["register"].append(row)
        for w, rs in totals.items():
            if not rs:
                continue
            t = {"workload": w, "nemesis": "ALL"}
            for k in ("attempted", "ok", "failed", "unknown", "acknowledged_lost",
                      "stale_reads", "phantom"):
                vals = [r.get(k) for r in rs if r.get(k) is not None]
                t[k] = sum(vals) if vals else None
            t["largest_siblings"] = max(r["largest_siblings"] for r in rs)
            for k in ("converge_s", "repair_s", "repaired_s"):
                vals = [r.get(k) for r in rs]
                t[k] = None if None in vals else max(vals)
            rows.append(t)
        return rows, violations


def main(args, profile, say):
    def on_signal(sig, _frame):
        raise Interrupted("signal %d" % sig)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    run = Run(args, profile, say)
    json_path = args.json or os.path.join(args.dir, "report.json")
    hist_path = os.path.splitext(json_path)[0] + ".history.jsonl"
    broke = None
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        run.run()
    except Interrupted as e:
        broke = "interrupted (%s)" % e
    except cl.ClusterError as e:
        broke = "cluster: %s" % e
    except Exception:  # noqa: BLE001 — a bug of the suite: report it with what was recorded
        broke = "error in the suite: %s" % traceback.format_exc()
    finally:
        try:
            run.cluster.stop()
        except Exception as e:  # noqa: BLE001 — the outer process kills what is left
            say("stopping the cluster: %s" % e)
    if broke:
        run.problems.append({"phase": None, "problem": broke})
        say("run broke: %s" % broke)
        if not hasattr(run, "final"):
            run.final = {}
    for ph in run.phases:
        ph.setdefault("set_final", {})
    rows, violations = run.results()
    set_acked = sum(r.get("ok") or 0 for r in rows if r["workload"] == "set" and r["nemesis"] != "ALL")
    reg_writes = sum(r.get("writes_ok") or 0 for r in rows if r["workload"] == "register")
    if not broke and (set_acked < MIN_ACKED_ADDS or reg_writes < MIN_ACKED_WRITES):
        run.problems.append({"phase": None, "problem": (
            "too little was acknowledged to check anything (%d set adds, %d register writes; "
            "need %d and %d)" % (set_acked, reg_writes, MIN_ACKED_ADDS, MIN_ACKED_WRITES))})
    nonconv = [ph["name"] for ph in run.phases
               if not ph.get("skipped") and ph.get("converge_s") is None]
    failed = bool(violations or run.problems or nonconv)
    verdict = "FAIL" if failed else ("SKIPPED-POWER-LOSS" if run.skipped else "PASS")
    for ph in run.phases:
        # The report keeps what the final reads found, not the sets themselves (the history has
        # every operation).
        ph["set_final"] = {k: None if v is None else len(checker.set_elements(v)[0])
                           for k, v in ph["set_final"].items()}
    rep = {"profile": profile.name, "seed": args.seed, "started": started,
           "duration_s": run.now(), "verdict": verdict, "rows": rows,
           "violations": violations, "problems": run.problems, "skipped": run.skipped,
           "phases": run.phases, "history": hist_path,
           "cluster": {"nodes": [{"id": n.id, "dc": n.dc, "addr": n.addr, "ns": n.ns}
                                 for n in run.cluster.nodes],
                       "replication": cl.REPLICATION, "lazyfs": run.lazyfs_binary},
           "workloads": {"set": "eventual, r=w=local_quorum or quorum (half each), ctx puts "
                         "and 1 in %d blind" % wl.SetWorkload.BLIND_ONE_IN,
                         "register": "strong, r=w=quorum, get then ctx put (1 in %d blind)" %
                         wl.RegisterWorkload.BLIND_ONE_IN}}
    report.write_json(json_path, rep)
    report.write_history(hist_path, run.history.ops)
    print(report.table(rows))
    print()
    for v in violations[:10]:
        print("VIOLATION %s in %s: %s" % (v["type"], v["phase"], {
            k: v[k] for k in v if k not in ("history", "type", "phase")}))
    if len(violations) > 10:
        print("... %d violations in all (see %s)" % (len(violations), json_path))
    for p in run.problems:
        print("PROBLEM%s: %s" % (" in " + p["phase"] if p["phase"] else "", p["problem"]))
    for s in run.skipped:
        print("SKIPPED: %s" % s)
    print("verdict: %s (profile %s, seed %d, %.0f s); report %s; history %s" % (
        verdict, profile.name, args.seed, run.now(), json_path, hist_path))
    if failed:
        return 1
    return SKIPPED_RC if run.skipped else 0
