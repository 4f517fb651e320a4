"""Lookalike detection and the weight fitter."""

from __future__ import annotations

import pytest

from carewall.phishing.analyzer import fit_weights
from carewall.phishing.analyzer.domains import find_lookalike, permutations


@pytest.mark.parametrize(
    "host", ["paypa1.com", "rnicrosoft.com", "micros0ft.net", "xn--pypal-4ve.com", "linkedln.com"]
)
def test_lookalikes_are_found(host):
    assert find_lookalike(host) is not None


@pytest.mark.parametrize("host", ["paypal.com", "example.org", "groups.yahoo.com", "ups.com"])
def test_real_domains_are_not_lookalikes(host):
    assert find_lookalike(host) is None


def test_org_domain_typos_and_other_suffixes():
    org = ["riverclinic.org"]
    assert find_lookalike("rlverclinic.org", org) is not None
    assert find_lookalike("riverclinic.net", org) is not None
    assert find_lookalike("riverclinic.org", org) is None


def test_permutations_cover_dnstwist_families():
    variants = permutations("clinic")
    assert {"clnic", "cllinic", "lcinic", "c-linic", "xlinic", "clinlc"} <= variants


def test_fit_weights_ranks_the_informative_feature_first():
    examples = [{"a", "b"}] * 20 + [{"b"}] * 20
    labels = [True] * 20 + [False] * 20
    weights, _ = fit_weights(examples, labels)
    assert weights["a"] > weights["b"]


def test_fit_weights_checks_lengths():
    with pytest.raises(ValueError, match="differ"):
        fit_weights([{"a"}], [True, False])
