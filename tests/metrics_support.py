"""Reading a Prometheus exposition in tests: one sample by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``exposition``: (name, labels) -> value."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of ``name`` with exactly ``labels``; fails listing the series of that name."""
    found = samples(exposition)
    key = (name, frozenset(labels.items()))
    if key not in found:
        same = sorted(str(dict(k[1])) for k in found if k[0] == name)
        raise AssertionError(f"no {name}{labels}; series of that name: {same}")
    return found[key]


def names(exposition: str) -> set[str]:
    """Every metric family name (counters without ``_total``) and every sample name."""
    out: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        out.add(family.name)
        out.update(s.name for s in family.samples)
    return out
