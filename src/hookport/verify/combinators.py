"""Combine verifiers: ``all_of`` (every one must pass) and ``any_of`` (one is enough)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import reduce
from typing import Self

from hookport.errors import ConfigError, ForbiddenError, VerificationError
from hookport.types import BodyFormat, IncomingRequest, RequestHead, Signed, Verified, Verifier
from hookport.verify.base import BaseVerifier, Draft, join_scheme, loosest, precheck_of, strictest


def _check(verifiers: tuple[Verifier, ...], name: str) -> None:
    if not verifiers:
        raise ConfigError(f"{name}() needs at least one verifier")


@dataclass(frozen=True, slots=True)
class AllOf(BaseVerifier):
    """Every verifier must accept; their results are merged in order."""

    verifiers: tuple[Verifier, ...]

    def __post_init__(self) -> None:
        _check(self.verifiers, "all_of")

    @property
    def scheme(self) -> str:
        """``all_of(a, b)``."""
        return join_scheme("all_of", [v.scheme for v in self.verifiers])

    @property
    def body_format(self) -> BodyFormat:
        """The strictest of the parts' (each part's rule must hold)."""
        return strictest(v.body_format for v in self.verifiers)

    def resolve(self, environ: Mapping[str, str]) -> Self:
        """Resolve every part."""
        return replace(self, verifiers=tuple(v.resolve(environ) for v in self.verifiers))

    def precheck(self, head: RequestHead, now: float) -> Verified | None:
        """Every part's precheck; final only when every part decided from the head."""
        results = [precheck_of(v, head, now) for v in self.verifiers]
        decided = [r for r in results if r is not None]
        return reduce(Verified.merge, decided) if len(decided) == len(results) else None

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Run every part in order; the first failure is the answer."""
        results = [v.verify(request, now) for v in self.verifiers]
        return reduce(Verified.merge, results)

    def _sign(self, draft: Draft) -> Signed:
        """Everything every part adds."""
        out = Signed()
        for v in self.verifiers:
            part = draft.signed_by(v)
            out.headers.update(part.headers)
            out.query.update(part.query)
        return out


@dataclass(frozen=True, slots=True)
class AnyOf(BaseVerifier):
    """The first verifier that accepts wins.

    When all fail the answer is 403 only if every failure was a 403; otherwise 401, carrying
    every ``WWW-Authenticate`` challenge the parts raised.
    """

    verifiers: tuple[Verifier, ...]

    def __post_init__(self) -> None:
        _check(self.verifiers, "any_of")

    @property
    def scheme(self) -> str:
        """``any_of(a, b)``."""
        return join_scheme("any_of", [v.scheme for v in self.verifiers])

    @property
    def body_format(self) -> BodyFormat:
        """The loosest of the alternatives' (any one of them may be the sender)."""
        return loosest(v.body_format for v in self.verifiers)

    def resolve(self, environ: Mapping[str, str]) -> Self:
        """Resolve every part."""
        return replace(self, verifiers=tuple(v.resolve(environ) for v in self.verifiers))

    def precheck(self, head: RequestHead, now: float) -> Verified | None:
        """Parts in order, as :meth:`verify` tries them: refused only if every part is."""
        failures: list[VerificationError | ForbiddenError] = []
        for v in self.verifiers:
            try:
                result = precheck_of(v, head, now)
            except (VerificationError, ForbiddenError) as exc:
                failures.append(exc)
                continue
            return result  # decided from the head, or this part needs the body: verify then
        raise _combined(failures)

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Try each part in order and return the first success."""
        failures: list[VerificationError | ForbiddenError] = []
        for v in self.verifiers:
            try:
                return v.verify(request, now)
            except (VerificationError, ForbiddenError) as exc:
                failures.append(exc)
        raise _combined(failures)

    def _sign(self, draft: Draft) -> Signed:
        """What the first alternative adds."""
        return draft.signed_by(self.verifiers[0])


def _combined(failures: list[VerificationError | ForbiddenError]) -> Exception:
    if all(isinstance(exc, ForbiddenError) for exc in failures):
        return ForbiddenError()
    challenge: dict[str, str] = {}
    for exc in failures:
        challenge.update(exc.headers)
    reasons = "; ".join(dict.fromkeys(exc.message for exc in failures))
    return VerificationError(f"no accepted credentials ({reasons})", headers=challenge)
