"""The nemeses of the fault suite. Each one has apply() and heal(); the runner calls them on a
schedule while the workloads run. apply() returns a line saying what it did (for the event log).

  partition   random halves: each node drops every packet from the other half
  isolate     one node drops packets from every other node and they drop its packets
  one-way     node A drops packets from a random set B of other nodes: A can send to B but
              receives nothing from B (TCP to and from A and B stalls, one way at the network)
  kill        SIGKILL one agent (any node, any of the three; the first of a phase a storage
              agent); heal restarts it
  pause       SIGSTOP one agent (chosen as for kill); heal sends SIGCONT
  loss        30% of the packets in and out of one node's eth0 dropped (nft numgen random)
  dc-down     every agent of every node of one data center SIGKILLed; heal restarts them
  power-loss  one node's agents SIGKILLed and every byte its storage agent wrote since its last
              fsync/fdatasync discarded (ringkv-lazyfs drop-unsynced); heal restarts them.
              Three cycles in four hold the node's syncs (hold-syncs) for 0.3-1.5 s first.

Partitions cut node-to-node traffic only: the client namespace keeps its links, as a client in
the same rack would.
"""

import signal
import time

import cluster as cl
import lab

LOSS_PERCENT = 30


class Nemesis:
    name = ""
    needs_lazyfs = False

    def __init__(self, cluster, rng):
        self.cluster = cluster
        self.rng = rng
        self.cut = []         # namespaces with nft rules to flush at heal
        self.down = []        # agents to restart at heal
        self.paused = []      # agents to SIGCONT at heal
        self.picks = 0        # agents picked so far in this phase

    def apply(self):
        raise NotImplementedError

    def heal(self):
        """Undoes what apply did; returns a line for the event log."""
        done = []
        for ns in self.cut:
            lab.nft_flush(ns)
        if self.cut:
            done.append("flushed nft rules of %s" % " ".join(self.cut))
        for a in self.paused:
            a.signal(signal.SIGCONT)
        if self.paused:
            done.append("SIGCONT %s" % ", ".join(a.label() for a in self.paused))
        if self.down:
            self.cluster.restart(self.down)
            done.append("restarted %s" % ", ".join(a.label() for a in self.down))
        self.cut, self.paused, self.down = [], [], []
        return "; ".join(done) or "nothing to heal"

    # helpers
    def nodes(self):
        return list(self.cluster.nodes)

    def random_agent(self):
        """Any agent; a phase's first pick is a storage agent (the one that holds the data),
        so that a short phase of two cycles cannot spend them both on gossip agents."""
        agents = sorted(self.cluster.agents.values(), key=lambda a: a.label())
        self.picks += 1
        if self.picks == 1:
            agents = [a for a in agents if a.name == "storage"]
        return self.rng.choice(agents)

    def drop(self, node, from_nodes):
        lab.nft_drop_from(node.ns, [m.addr for m in from_nodes])
        if node.ns not in self.cut:
            self.cut.append(node.ns)


class Partition(Nemesis):
    name = "partition"

    def apply(self):
        nodes = self.nodes()
        self.rng.shuffle(nodes)
        half = len(nodes) // 2
        a, b = nodes[:half], nodes[half:]
        for n in a:
            self.drop(n, b)
        for n in b:
            self.drop(n, a)
        return "partition %s | %s" % (" ".join(sorted(n.id for n in a)),
                                      " ".join(sorted(n.id for n in b)))


class Isolate(Nemesis):
    name = "isolate"

    def apply(self):
        nodes = self.nodes()
        victim = self.rng.choice(nodes)
        others = [n for n in nodes if n is not victim]
        self.drop(victim, others)
        for n in others:
            self.drop(n, [victim])
        return "isolate %s" % victim.id


class OneWay(Nemesis):
    name = "one-way"

    def apply(self):
        nodes = self.nodes()
        a = self.rng.choice(nodes)
        others = [n for n in nodes if n is not a]
        b = self.rng.sample(others, self.rng.randint(1, len(others)))
        self.drop(a, b)
        return "one-way: %s receives nothing from %s (and can send to them)" % (
            a.id, " ".join(sorted(n.id for n in b)))


class Kill(Nemesis):
    name = "kill"

    def apply(self):
        a = self.random_agent()
        a.kill()
        self.down.append(a)
        return "SIGKILL %s" % a.label()


class Pause(Nemesis):
    name = "pause"

    def apply(self):
        a = self.random_agent()
        a.signal(signal.SIGSTOP)
        self.paused.append(a)
        return "SIGSTOP %s" % a.label()


class Loss(Nemesis):
    name = "loss"

    def apply(self):
        n = self.rng.choice(self.nodes())
        lab.nft_loss(n.ns, LOSS_PERCENT)
        self.cut.append(n.ns)
        return "%d%% packet loss on %s" % (LOSS_PERCENT, n.id)


class DcDown(Nemesis):
    name = "dc-down"

    def apply(self):
        dc = self.rng.choice(self.cluster.dcs())
        for n in self.nodes():
            if n.dc == dc:
                for a in self.cluster.node_agents(n):
                    a.kill()
                    self.down.append(a)
        return "SIGKILL every agent of %s (%s)" % (dc, " ".join(
            n.id for n in self.nodes() if n.dc == dc))


class PowerLoss(Nemesis):
    """Most cycles first hold the node's syncs for a moment while the workload runs (a disk
    whose fsyncs have not completed when the power goes: everything written since the last
    completed sync is lost, as on a real host), then kill; the others kill at once."""
    name = "power-loss"
    needs_lazyfs = True
    HELD_ONE_IN = 4     # one cycle in HELD_ONE_IN kills without holding syncs first

    def apply(self):
        n = self.rng.choice(self.nodes())
        fs = self.cluster.lazyfs.get(n.id)
        if fs is None:
            raise cl.ClusterError("power loss needs ringkv-lazyfs under %s" % n.id)
        held = 0.0
        if self.rng.randrange(self.HELD_ONE_IN) != 0:
            held = round(self.rng.uniform(0.3, 1.5), 2)
            cl.lazyfs_command(fs, "hold-syncs")
            time.sleep(held)
        try:
            for a in self.cluster.node_agents(n):
                a.send_kill()
                self.down.append(a)
            # The power is off now: what the node wrote and did not sync is gone. A sync held
            # until here returns EIO to a process that is already dying.
            answer = cl.lazyfs_command(fs, "drop-unsynced")
        finally:
            if held:
                cl.lazyfs_command(fs, "release-syncs")
        for a in self.cluster.node_agents(n):
            a.reap()
        return "power loss of %s%s: SIGKILL its agents, drop-unsynced (%s)" % (
            n.id, " after holding its syncs %.2f s" % held if held else "", answer)


ALL = (Partition, Isolate, OneWay, Kill, Pause, Loss, DcDown, PowerLoss)
BY_NAME = {n.name: n for n in ALL}
