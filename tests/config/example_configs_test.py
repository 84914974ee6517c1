#!/usr/bin/python3
"""The annotated example configs in conf/ stay complete and valid.

For every agent: each option the program has (its hidden --list-options) must be documented in
conf/<agent>.conf by a block holding a `name = value` or `# name = value` line and a
`# Default: ...` line that states the program's real default; the file documents no option the
program lacks; and the file, as shipped, is accepted (--print-config exits 0 and shows every
value the file sets as coming from it). Options added to an agent without a block in its file
make this test fail with the option and the file named.
"""
import os
import re
import subprocess
import sys

BIN = os.environ.get("RINGKV_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")
AGENTS = ["ringkv-storage", "ringkv-coordinator", "ringkv-gossip"]
# `name = value` at the start of a line, or commented out by exactly "# ".
OPTION_LINE = re.compile(r"^(# )?([a-z0-9][a-z0-9-]*) =(.*)$")
DEFAULT_LINE = re.compile(r"^# Default: (.*)$")


def run(args):
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=30)


def program_options(agent):
    """{name: default or None} from `agent --list-options`."""
    out = run([os.path.join(BIN, agent), "--list-options"])
    if out.returncode != 0:
        raise SystemExit("%s --list-options exited %d: %s" % (agent, out.returncode, out.stderr))
    options = {}
    for line in out.stdout.splitlines():
        name, _, default = line.partition("\t")
        options[name] = default[1:] if default.startswith("=") else None
    if not options:
        raise SystemExit("%s --list-options printed no options" % agent)
    return options


def documented(path):
    """{name: (block text, stated default or None, active values)} of a config file."""
    with open(path) as f:
        blocks = f.read().split("\n\n")
    docs = {}
    for block in blocks:
        names, default, active = [], None, []
        for line in block.splitlines():
            m = OPTION_LINE.match(line)
            if m:
                names.append(m.group(2))
                if not m.group(1):
                    active.append((m.group(2), m.group(3).strip()))
            d = DEFAULT_LINE.match(line)
            if d:
                default = d.group(1).strip()
        for name in names:
            prev = docs.get(name)
            values = [v for n, v in active if n == name]
            if prev:  # e.g. a commented example next to the active line: merge
                docs[name] = (prev[0] + "\n" + block, prev[1] or default, prev[2] + values)
            else:
                docs[name] = (block, default, values)
    return docs


def expected_default_text(default):
    if default is None:
        return None
    return '""' if default == "" else default


def check_agent(agent):
    path = os.path.join(CONF, agent + ".conf")
    rel = os.path.relpath(path, os.path.join(CONF, ".."))
    problems = []
    if not os.path.exists(path):
        return ["%s is missing: every agent ships an annotated example config" % rel]
    options = program_options(agent)
    docs = documented(path)
    for name, default in options.items():
        want = expected_default_text(default)
        if name not in docs:
            problems.append(
                "%s does not document option '%s' of %s: add a block with a description, "
                "'# Default: %s' and '# %s = %s'" % (
                    rel, name, agent, want if want is not None else "none (...)", name,
                    default if default is not None else ""))
            continue
        _, stated, _ = docs[name]
        if stated is None:
            problems.append("%s: the block of option '%s' has no '# Default: ...' line" % (
                rel, name))
        elif want is None:
            if not stated.startswith("none"):
                problems.append("%s: option '%s' has no default in %s, but the file says "
                                "'Default: %s' (write 'Default: none (...)')" % (
                                    rel, name, agent, stated))
        elif stated != want:
            problems.append("%s: option '%s' defaults to '%s' in %s, but the file says "
                            "'Default: %s'" % (rel, name, want, agent, stated))
    for name in docs:
        if name not in options:
            problems.append("%s documents option '%s', which %s does not have (see %s --help)" %
                            (rel, name, agent, agent))
    # As shipped, the file is accepted, and every value it sets is what the agent uses.
    out = run([os.path.join(BIN, agent), "--config", path, "--print-config"])
    if out.returncode != 0:
        problems.append("%s --config %s --print-config exited %d: %s" % (
            agent, rel, out.returncode, out.stderr.strip()))
        return problems
    printed = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^([a-z0-9-]+) = (.*?)\s+# (.*)$", line)
        if m:
            printed.setdefault(m.group(1), []).append((m.group(2), m.group(3)))
    for name, (_, _, values) in docs.items():
        for v in values:
            if (v, "config file " + path) not in printed.get(name, []):
                problems.append("%s sets %s = %s but %s --print-config shows %s" % (
                    rel, name, v, agent, printed.get(name)))
    for name in options:
        if name not in printed and not any(
                l.startswith("# %s is not set" % name) for l in out.stdout.splitlines()):
            problems.append("%s --print-config does not show option '%s'" % (agent, name))
    return problems


def main():
    problems = []
    for agent in AGENTS:
        found = check_agent(agent)
        print("%s: %s" % (agent, "ok" if not found else "%d problem(s)" % len(found)))
        problems += found
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
