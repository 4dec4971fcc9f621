// The fleet address plan: ranges that meet in one route table (both ends of a link, or
// two spokes of one hub, the data centre included) must not overlap.

import * as fc from "fast-check";
import { checkFleetAddressPlan, ClusterAddressPlan, FleetAddressPlan } from "../../components/fleet/fleetAddressPlan";

function cluster(stack: string, n: number): ClusterAddressPlan {
  return { stack, vpcCidr: `10.${n}.0.0/16`, podCidr: `10.${n + 100}.0.0/16`, serviceCidr: `10.${n + 200}.0.0/20` };
}

/** The real fleet's shape: the host manages every member; prod1 and pre reach the data centre. */
function fleet(): FleetAddressPlan {
  return {
    clusters: [cluster("host", 1), cluster("dev", 10), cluster("test", 20), cluster("pre", 30), cluster("prod1", 40), cluster("prod2", 50)],
    links: [
      ["host", "dev"],
      ["host", "test"],
      ["host", "pre"],
      ["host", "prod1"],
      ["host", "prod2"],
    ],
    datacenter: { subnets: ["192.168.0.0/16", "172.16.8.0/22"], linkedStacks: ["prod1", "pre"] },
  };
}

function withCluster(plan: FleetAddressPlan, stack: string, patch: Partial<ClusterAddressPlan>): FleetAddressPlan {
  return { ...plan, clusters: plan.clusters.map((c) => (c.stack === stack ? { ...c, ...patch } : c)) };
}

describe("checkFleetAddressPlan", () => {
  it("accepts the fleet as planned", () => {
    expect(checkFleetAddressPlan(fleet())).toEqual([]);
  });

  it("reports a direct overlap, across different keys too", () => {
    const plan = withCluster(fleet(), "prod1", { podCidr: "10.1.128.0/17" });
    expect(checkFleetAddressPlan(plan)).toEqual([
      "host platform:network.vpcCidr 10.1.0.0/16 overlaps prod1 platform:network.podCidr 10.1.128.0/17 (linked directly)",
    ]);
  });

  it("reports an overlap between two spokes of the same hub", () => {
    const plan = withCluster(fleet(), "prod2", { podCidr: "10.140.0.0/16" });
    expect(checkFleetAddressPlan(plan)).toEqual([
      "prod1 platform:network.podCidr 10.140.0.0/16 overlaps prod2 platform:network.podCidr 10.140.0.0/16 (linked via host)",
    ]);
  });

  it("names every hub the two share, the data centre included", () => {
    const plan = withCluster(fleet(), "pre", { serviceCidr: "10.240.0.0/20" });
    expect(checkFleetAddressPlan(plan)).toEqual([
      "pre platform:network.serviceCidr 10.240.0.0/20 overlaps prod1 platform:network.serviceCidr 10.240.0.0/20 (linked via host, datacenter)",
    ]);
  });

  it("reports a linked cluster overlapping a data-centre subnet", () => {
    const plan = withCluster(fleet(), "prod1", { vpcCidr: "192.168.0.0/16" });
    expect(checkFleetAddressPlan(plan)).toEqual(["prod1 platform:network.vpcCidr 192.168.0.0/16 overlaps datacenter subnet 192.168.0.0/16"]);
    const narrow = withCluster(fleet(), "pre", { vpcCidr: "172.16.0.0/12" });
    expect(checkFleetAddressPlan(narrow)).toEqual(["pre platform:network.vpcCidr 172.16.0.0/12 overlaps datacenter subnet 172.16.8.0/22"]);
  });

  it("reports a cluster that reaches the data centre through a hub", () => {
    const plan = fleet();
    plan.datacenter = { subnets: ["10.50.0.0/24"], linkedStacks: ["host"] };
    // host routes to both the DC and prod2: prod2's VPC clashes with the DC subnet there.
    expect(checkFleetAddressPlan(plan)).toEqual(["prod2 platform:network.vpcCidr 10.50.0.0/16 overlaps datacenter subnet 10.50.0.0/24 (linked via host)"]);
  });

  it("lets clusters with no route between them reuse ranges", () => {
    const plan: FleetAddressPlan = {
      clusters: [cluster("a", 1), cluster("b", 1), cluster("c", 2), cluster("d", 1)],
      // a - c - d: a and d share hub c; b is unlinked; a chain a-c-d-... beyond two hops is fine.
      links: [
        ["a", "c"],
        ["c", "d"],
      ],
    };
    const problems = checkFleetAddressPlan(plan);
    expect(problems.some((p) => p.includes(" b "))).toBe(false);
    expect(problems).toContain("a platform:network.vpcCidr 10.1.0.0/16 overlaps d platform:network.vpcCidr 10.1.0.0/16 (linked via c)");

    const chain: FleetAddressPlan = {
      clusters: [cluster("a", 1), cluster("b", 2), cluster("c", 3), cluster("d", 1)],
      links: [
        ["a", "b"],
        ["b", "c"],
        ["c", "d"],
      ],
    };
    expect(checkFleetAddressPlan(chain)).toEqual([]);
  });

  it("leaves unlinked stacks' data-centre overlaps alone", () => {
    const plan = withCluster(fleet(), "dev", { vpcCidr: "192.168.0.0/16" });
    plan.links = plan.links.filter(([, b]) => b !== "dev");
    expect(checkFleetAddressPlan(plan)).toEqual([]);
  });

  it("reports structural problems instead of guessing", () => {
    const plan = fleet();
    plan.clusters.push(cluster("dev", 60));
    plan.links.push(["prod1", "prod3"], ["pre", "pre"]);
    plan.datacenter = { subnets: ["192.168.1.1/16"], linkedStacks: ["uat"] };
    plan.clusters[1] = { ...plan.clusters[1], podCidr: "10.300.0.0/16" };
    expect(checkFleetAddressPlan(plan)).toEqual([
      "datacenter subnet: 192.168.1.1/16 has host bits set (network address is 192.168.0.0/16)",
      'datacenter.linkedStacks: unknown stack "uat"',
      'dev platform:network.podCidr: not an IPv4 address: "10.300.0.0"',
      "link pre <-> pre links a stack to itself",
      'link prod1 <-> prod3: unknown stack "prod3"',
      "stack dev appears more than once in the address plan",
    ]);
  });

  it("reports each clash once even when the link is listed both ways", () => {
    const plan = withCluster(fleet(), "prod1", { podCidr: "10.1.0.0/16" });
    plan.links.push(["prod1", "host"]);
    expect(checkFleetAddressPlan(plan)).toEqual([
      "host platform:network.vpcCidr 10.1.0.0/16 overlaps prod1 platform:network.podCidr 10.1.0.0/16 (linked directly)",
    ]);
  });
});

// ---------------------------------------------------------------- properties

const STACKS = ["host", "dev", "test", "pre", "prod1", "prod2", "dr"];
const KEYS = ["vpcCidr", "podCidr", "serviceCidr"] as const;

/** 2-7 clusters on distinct /16s of 10/8, random links, DC subnets in 172.16/12 (so all disjoint). */
const disjointPlan: fc.Arbitrary<FleetAddressPlan> = fc
  .integer({ min: 2, max: STACKS.length })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      octets: fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 3 * n, maxLength: 3 * n }),
      links: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 10 }),
      dcSubnets: fc.uniqueArray(fc.integer({ min: 16, max: 31 }), { minLength: 1, maxLength: 4 }),
      dcLinked: fc.subarray(STACKS.slice(0, n)),
    }),
  )
  .map(({ n, octets, links, dcSubnets, dcLinked }) => ({
    clusters: STACKS.slice(0, n).map((stack, i) => ({
      stack,
      vpcCidr: `10.${octets[3 * i]}.0.0/16`,
      podCidr: `10.${octets[3 * i + 1]}.0.0/16`,
      serviceCidr: `10.${octets[3 * i + 2]}.0.0/20`,
    })),
    links: links.filter(([a, b]) => a !== b).map(([a, b]): [string, string] => [STACKS[a], STACKS[b]]),
    datacenter: { subnets: dcSubnets.map((o) => `172.${o}.0.0/16`), linkedStacks: dcLinked },
  }));

describe("checkFleetAddressPlan properties", () => {
  it("never reports a plan of disjoint ranges", () => {
    fc.assert(
      fc.property(disjointPlan, (plan) => checkFleetAddressPlan(plan).length === 0),
      { numRuns: 300 },
    );
  });

  it("always reports a range copied onto a directly linked peer, naming both ends", () => {
    const withLink = disjointPlan.filter((p) => p.links.length > 0);
    fc.assert(
      fc.property(withLink, fc.nat(), fc.constantFrom(...KEYS), fc.constantFrom(...KEYS), (plan, pick, ka, kb) => {
        const [a, b] = plan.links[pick % plan.links.length];
        const range = plan.clusters.find((c) => c.stack === a)![ka];
        const problems = checkFleetAddressPlan(withCluster(plan, b, { [kb]: range }));
        const sideA = `${a} platform:network.${ka} ${range}`;
        const sideB = `${b} platform:network.${kb} ${range}`;
        return problems.some((p) => p.includes(sideA) && p.includes(sideB) && p.endsWith("(linked directly)"));
      }),
      { numRuns: 300 },
    );
  });

  it("always reports a range copied between two spokes of one hub", () => {
    fc.assert(
      fc.property(disjointPlan, fc.constantFrom(...KEYS), (plan, k) => {
        const [hub, a, b] = plan.clusters.length >= 3 ? plan.clusters.map((c) => c.stack) : [];
        fc.pre(hub !== undefined);
        const links = plan.links.filter(([x, y]) => !((x === a && y === b) || (x === b && y === a)));
        links.push([hub, a], [b, hub]);
        const range = plan.clusters.find((c) => c.stack === a)![k];
        const problems = checkFleetAddressPlan(withCluster({ ...plan, links }, b, { [k]: range }));
        return problems.some((p) => {
          const hubs = /\(linked via ([^)]*)\)$/.exec(p)?.[1].split(", ") ?? [];
          return p.includes(`${a} platform:network.${k} ${range}`) && p.includes(`${b} platform:network.${k} ${range}`) && hubs.includes(hub);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("always reports a DC-linked cluster that takes a DC subnet", () => {
    const dcLinked = disjointPlan.filter((p) => p.datacenter!.linkedStacks.length > 0);
    fc.assert(
      fc.property(dcLinked, fc.constantFrom(...KEYS), (plan, k) => {
        const stack = plan.datacenter!.linkedStacks[0];
        const subnet = plan.datacenter!.subnets[0];
        const problems = checkFleetAddressPlan(withCluster(plan, stack, { [k]: subnet }));
        return problems.includes(`${stack} platform:network.${k} ${subnet} overlaps datacenter subnet ${subnet}`);
      }),
      { numRuns: 200 },
    );
  });

  it("gives the same sorted, duplicate-free answer whatever the input order", () => {
    // Few octets, so clashes are common.
    const clashing = fc.record({
      octets: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 15, maxLength: 15 }),
      links: fc.array(fc.tuple(fc.nat(4), fc.nat(4)), { maxLength: 8 }),
      dcLinked: fc.subarray(STACKS.slice(0, 5)),
    });
    fc.assert(
      fc.property(clashing, fc.infiniteStream(fc.boolean()), ({ octets, links, dcLinked }, flips) => {
        const plan: FleetAddressPlan = {
          clusters: STACKS.slice(0, 5).map((stack, i) => ({
            stack,
            vpcCidr: `10.${octets[3 * i]}.0.0/16`,
            podCidr: `10.${octets[3 * i + 1]}.0.0/16`,
            serviceCidr: `10.${octets[3 * i + 2]}.0.0/20`,
          })),
          links: links.filter(([a, b]) => a !== b).map(([a, b]): [string, string] => [STACKS[a], STACKS[b]]),
          datacenter: { subnets: ["10.2.0.0/24", "10.0.0.0/20"], linkedStacks: dcLinked },
        };
        const shuffled: FleetAddressPlan = {
          clusters: [...plan.clusters].reverse(),
          links: plan.links.map(([a, b]) => (flips.next().value ? [b, a] : [a, b]) as [string, string]).reverse(),
          datacenter: { subnets: [...plan.datacenter!.subnets].reverse(), linkedStacks: [...dcLinked].reverse() },
        };
        const out = checkFleetAddressPlan(plan);
        expect(checkFleetAddressPlan(shuffled)).toEqual(out);
        expect(new Set(out).size).toBe(out.length);
        expect([...out].sort()).toEqual(out);
      }),
      { numRuns: 200 },
    );
  });
});
