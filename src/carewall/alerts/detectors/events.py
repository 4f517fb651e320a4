"""Detectors over events other than opening a record: break-glass, bulk export and wide
search, sign-in attacks, and accesses a patient flagged."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from carewall.alerts.detectors.base import Entry, Facts, Finding, Severity, State, TunedDetector
from carewall.core.context import describe_user_agent

BREAK_GLASS = "records:emergency:started"
CLINICAL_WRITES = frozenset({"records:resource:created", "records:resource:updated"})
EXPORT = "records:export:completed"
WIDE = frozenset({"records:search:performed", "records:bundle:processed", EXPORT})
LOCKED = "identity:account:locked"
SIGNED_IN = "identity:login:success"
FLAGGED = "records:access:flagged"
_HOUR = timedelta(hours=1)


class BreakGlassDetector(TunedDetector):
    """Every break-glass use, repeated use, and use with no clinical action after it."""

    id = "break_glass"
    title = "Emergency (break-glass) access"
    explanation = (
        "Every emergency access is reviewed; several by one person in a day, or one followed "
        "by no clinical entry in that record within the follow-up time, are more urgent."
    )
    severity = Severity.MEDIUM
    actions = CLINICAL_WRITES | {BREAK_GLASS}

    def feed(self, entry: Entry, state: State, facts: Facts) -> list[Finding]:
        found = self._due(entry.ts, state)
        pending: list[list[object]] = state.setdefault("pending", [])
        if entry.action in CLINICAL_WRITES and entry.patients:
            pending[:] = [
                p for p in pending if not (p[0] == entry.actor and p[1] in entry.patients)
            ]
        if entry.action != BREAK_GLASS or entry.outcome != "success":
            return found
        patient = entry.patients[0] if entry.patients else ""
        pending.append([entry.actor, patient, entry.ts.timestamp(), entry.seq])
        day = self.tuning.day(entry.ts)
        uses = state.setdefault("uses", {})
        mine = [u for u in uses.get(entry.actor, []) if u[0] == day] + [[day, entry.seq]]
        uses[entry.actor] = mine
        found.append(
            self._finding(
                entry.actor, entry.seq, entry.ts, "use", Severity.MEDIUM, "Break-glass access used"
            )
        )
        if len(mine) >= self.tuning.break_glass_repeat:
            found.append(
                Finding(
                    detector=self.id,
                    severity=Severity.HIGH,
                    user=entry.actor,
                    title=f"Break-glass used {len(mine)} times in a day",
                    explanation=f"{len(mine)} emergency accesses on {day} by one person.",
                    key=f"break_glass:repeat:{entry.actor}:{day}",
                    seqs=tuple(int(u[1]) for u in mine),
                    evidence_at=entry.ts,
                )
            )
        return found

    def _due(self, now: datetime, state: State) -> list[Finding]:
        pending: list[list[object]] = state.setdefault("pending", [])
        limit = now.timestamp() - self.tuning.followup.total_seconds()
        due = [p for p in pending if float(str(p[2])) <= limit]
        pending[:] = [p for p in pending if float(str(p[2])) > limit]
        minutes = int(self.tuning.followup.total_seconds() // 60)
        return [
            self._finding(
                str(actor),
                int(str(seq)),
                datetime.fromtimestamp(float(str(at)), now.tzinfo) + self.tuning.followup,
                "idle",
                Severity.HIGH,
                f"Break-glass with no clinical entry within {minutes} minutes",
            )
            for actor, _, at, seq in due
        ]

    def _finding(
        self, actor: str, seq: int, at: datetime, kind: str, severity: Severity, title: str
    ) -> Finding:
        return Finding(
            detector=self.id,
            severity=severity,
            user=actor,
            title=title,
            explanation=f"{title}. {self.explanation}",
            key=f"break_glass:{kind}:{seq}",
            seqs=(seq,),
            evidence_at=at,
        )

    def tick(self, now: datetime, state: State, facts: Facts) -> list[Finding]:
        return self._due(now, state)


class BulkDetector(TunedDetector):
    """Exports by staff or feeds, and searches, Bundles or exports reaching many patients.

    An integration feed's export is alerted on too: a nightly load is expected, a
    stolen feed token exporting everything looks the same (the alert names the
    role, and the admin dismisses the expected ones)."""

    id = "bulk"
    title = "Bulk export or wide search"
    explanation = (
        "An account (a member of staff or an integration feed) exported patient records, "
        "or one search, Bundle or export returned the records of many patients at once."
    )
    severity = Severity.HIGH
    actions = WIDE

    def feed(self, entry: Entry, state: State, facts: Facts) -> list[Finding]:
        if entry.action not in WIDE or not entry.actor.startswith("user:"):
            return []
        staff = facts.staff(entry.actor)
        if staff is None or staff.role == "patient":
            return []
        reached = max(len(entry.patients), _int(entry.details.get("patients")))
        if reached >= self.tuning.bulk_patients:
            what = "An export" if entry.action == EXPORT else "A search or Bundle"
            title = f"{what} reached {reached} patients"
            severity = Severity.HIGH
        elif entry.action == EXPORT:
            title, severity = "A patient record was exported", Severity.MEDIUM
        else:
            return []
        return [
            Finding(
                detector=self.id,
                severity=severity,
                user=entry.actor,
                title=title,
                explanation=f"{title} ({staff.role}).",
                key=f"bulk:{entry.seq}",
                seqs=(entry.seq,),
                evidence_at=entry.ts,
                facts={"patients": reached},
            )
        ]


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def network_of(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) network of an address; the address itself otherwise."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class SignInDetector(TunedDetector):
    """Credential stuffing, repeated lockouts, and an administrator on a new device or network."""

    id = "signin"
    title = "Sign-in attack"
    explanation = (
        "Failed sign-ins for many accounts from one address (credential stuffing), several "
        "accounts locked within an hour, or an administrator signing in from a device or "
        "network not seen for them before."
    )
    severity = Severity.HIGH
    actions = frozenset({LOCKED, SIGNED_IN})

    def feed(self, entry: Entry, state: State, facts: Facts) -> list[Finding]:
        if entry.action == LOCKED:
            return self._locked(entry, state)
        if entry.action == SIGNED_IN and entry.actor.startswith("user:"):
            return self._signed_in(entry, state, facts)
        return []

    def _locked(self, entry: Entry, state: State) -> list[Finding]:
        locks: list[list[object]] = state.setdefault("locks", [])
        horizon = (entry.ts - _HOUR).timestamp()
        locks[:] = [x for x in locks if float(str(x[0])) >= horizon]
        locks.append([entry.ts.timestamp(), entry.seq])
        if len(locks) < self.tuning.lockouts:
            return []
        hour = entry.ts.strftime("%Y-%m-%dT%H")
        return [
            Finding(
                detector=self.id,
                severity=Severity.HIGH,
                user="",
                title=f"{len(locks)} accounts locked within an hour",
                explanation="Several accounts were locked after repeated failed sign-ins.",
                key=f"signin:lockouts:{hour}",
                seqs=tuple(int(str(x[1])) for x in locks),
                evidence_at=entry.ts,
            )
        ]

    def _signed_in(self, entry: Entry, state: State, facts: Facts) -> list[Finding]:
        staff = facts.staff(entry.actor)
        if staff is None or staff.role != "admin":
            return []
        seen = state.setdefault("devices", {}).setdefault(entry.actor, {"net": [], "dev": []})
        net, device = network_of(entry.ip), describe_user_agent(entry.user_agent)
        first = not seen["net"] and not seen["dev"]
        new_net, new_dev = net not in seen["net"], device not in seen["dev"]
        if new_net:
            seen["net"].append(net)
        if new_dev:
            seen["dev"].append(device)
        if first or not (new_net or new_dev):
            return []
        what = "network" if new_net else "device"
        return [
            Finding(
                detector=self.id,
                severity=Severity.MEDIUM,
                user=entry.actor,
                title=f"Administrator signed in from a new {what}",
                explanation=f"An administrator signed in from {device} on {net}, not seen before.",
                key=f"signin:new:{entry.actor}:{net}:{device}",
                seqs=(entry.seq,),
                evidence_at=entry.ts,
            )
        ]

    def tick(self, now: datetime, state: State, facts: Facts) -> list[Finding]:
        by_ip: dict[str, set[str]] = {}
        latest: dict[str, datetime] = {}
        for failure in facts.failures(now - _HOUR, now):
            by_ip.setdefault(failure.ip, set()).add(failure.account.lower())
            latest[failure.ip] = max(latest.get(failure.ip, failure.at), failure.at)
        found = []
        for ip, accounts in sorted(by_ip.items()):
            if len(accounts) >= self.tuning.stuffing_accounts:
                found.append(
                    Finding(
                        detector=self.id,
                        severity=Severity.HIGH,
                        user="",
                        title=f"Failed sign-ins for {len(accounts)} accounts from one address",
                        explanation=(
                            f"{len(accounts)} different accounts failed to sign in from {ip} "
                            "within an hour: credential stuffing or password spraying."
                        ),
                        key=f"signin:stuffing:{ip}:{now:%Y-%m-%d}",
                        seqs=(),
                        evidence_at=latest[ip],
                        facts={"ip": ip, "accounts": len(accounts)},
                    )
                )
        return found


class FlaggedDetector(TunedDetector):
    """A patient said they do not recognise an access to their record."""

    id = "patient_flagged"
    title = "Access flagged by the patient"
    explanation = (
        "A patient reported, from the portal, an access to their record they do not recognise."
    )
    severity = Severity.HIGH
    actions = frozenset({FLAGGED})

    def feed(self, entry: Entry, state: State, facts: Facts) -> list[Finding]:
        if entry.action != FLAGGED:
            return []
        flagged = _int(entry.details.get("flagged_seq"))
        user = facts.actor_of(flagged) if flagged else ""
        return [
            Finding(
                detector=self.id,
                severity=self.severity,
                user=user,
                title="A patient does not recognise an access to their record",
                explanation=self.explanation,
                key=f"patient_flagged:{entry.seq}",
                seqs=tuple(s for s in (flagged, entry.seq) if s),
                evidence_at=entry.ts,
            )
        ]
