/**
 * A sticky partition assignment for kafkajs's consumer groups (`partitionAssigners`), so a
 * restart, a deploy or a scale-out moves only the partitions it must: every member keeps
 * the partitions it owns, up to its fair share, and only the rest are dealt out. kafkajs's
 * default round-robin deals all partitions afresh over members sorted by their random ids,
 * so a restart usually moved most partitions, and with them the drift state of their sources.
 *
 * The member's subscription carries its owned partitions as user data, oldest first (the
 * Kafka StickyAssignor's idea): when a member holds more than its share — it took over a
 * stopped member's partitions — it keeps the ones it held longest and gives back those it
 * took over, so a rolling restart ends with the layout it started from.
 */
import kafkajs from 'kafkajs';
import type { Assigner, PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

export const STICKY_ASSIGNER = 'GaiaSticky';

/** Partitions per topic, in the order the member came to own them. */
export type Owned = Readonly<Record<string, readonly number[]>>;

export interface MemberClaim {
  readonly memberId: string;
  readonly owned: Owned;
}

/**
 * The assignment, pure: members keep what they own up to their share (⌊P/M⌋, or ⌈P/M⌉ for
 * as many members as P mod M, given first to those that own the most), then the remaining
 * partitions go, lowest first, to the members furthest below their share.
 */
export function stickyAssign(partitions: Readonly<Record<string, readonly number[]>>, members: readonly MemberClaim[]): Map<string, Record<string, number[]>> {
  const out = new Map<string, Record<string, number[]>>(members.map((m) => [m.memberId, {}]));
  for (const [topic, all] of Object.entries(partitions)) {
    const valid = new Set(all);
    const sorted = [...members].sort((a, b) => (b.owned[topic]?.length ?? 0) - (a.owned[topic]?.length ?? 0) || a.memberId.localeCompare(b.memberId));
    const base = Math.floor(all.length / Math.max(1, members.length));
    const extra = all.length - base * members.length;
    // The members owning the most get the ⌈P/M⌉ shares: the fewest partitions move.
    const quota = new Map(sorted.map((m, i) => [m.memberId, base + (i < extra ? 1 : 0)]));
    const taken = new Set<number>();
    const got = new Map<string, number[]>();
    for (const m of sorted) {
      const kept = (m.owned[topic] ?? []).filter((p) => valid.has(p) && !taken.has(p)).slice(0, quota.get(m.memberId)!);
      for (const p of kept) taken.add(p);
      got.set(m.memberId, kept);
    }
    for (const p of [...all].sort((a, b) => a - b)) {
      if (taken.has(p)) continue;
      const target = sorted
        .filter((m) => got.get(m.memberId)!.length < quota.get(m.memberId)!)
        .sort((a, b) => got.get(a.memberId)!.length - got.get(b.memberId)!.length || a.memberId.localeCompare(b.memberId))[0];
      if (!target) break;
      got.get(target.memberId)!.push(p);
      taken.add(p);
    }
    for (const [memberId, ps] of got) if (ps.length > 0) out.get(memberId)![topic] = ps;
  }
  return out;
}

function decodeOwned(userData: Buffer | undefined): Owned {
  if (!userData || userData.length === 0) return {};
  try {
    const parsed = JSON.parse(userData.toString('utf8')) as { owned?: Record<string, unknown> };
    const owned: Record<string, number[]> = {};
    for (const [topic, ps] of Object.entries(parsed.owned ?? {})) if (Array.isArray(ps)) owned[topic] = ps.filter((p): p is number => Number.isInteger(p));
    return owned;
  } catch {
    return {}; // a member of another version: it claims nothing
  }
}

/** The kafkajs assigner; `owned()` says what this member owns now (read at every join). */
export function stickyAssigner(owned: () => Owned): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: STICKY_ASSIGNER,
    version: 1,
    async assign({ members, topics }) {
      const partitions = Object.fromEntries(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).map((m) => m.partitionId)]));
      const claims = members.map((m) => ({ memberId: m.memberId, owned: decodeOwned(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData) }));
      const assignment = stickyAssign(partitions, claims);
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: assignment.get(m.memberId) ?? {}, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return {
        name: STICKY_ASSIGNER,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify({ owned: owned() })) }),
      };
    },
  });
}
