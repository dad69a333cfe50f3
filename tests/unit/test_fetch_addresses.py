"""The SSRF guard's address classification (monitor.egress.blocked_address_reason)."""

from __future__ import annotations

import ipaddress

import pytest

from monitor.egress import (
    BlockedAddressError,
    address_policy,
    blocked_address_reason,
    guarded_addresses,
)

REFUSED = [
    # IPv4
    ("0.0.0.0", "unspecified"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata service
    ("169.254.0.1", "link-local"),
    ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("100.127.255.255", "shared (carrier-grade NAT)"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.10", "private"),  # documentation (TEST-NET-1)
    ("198.18.0.1", "private"),  # benchmarking
    ("192.0.0.192", "IETF protocol assignment"),  # an outside probe: it was allowed
    ("192.0.0.1", "private"),
    # IPv6
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fc00::1", "unique local"),
    ("fd00:ec2::254", "unique local"),  # AWS metadata service over IPv6
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("fec0::1", "site-local"),
    ("2001:db8::1", "private"),  # documentation
    ("::127.0.0.1", "deprecated IPv4-compatible"),
    # IPv4 carried inside IPv6
    ("::ffff:127.0.0.1", "loopback (IPv4 inside IPv6)"),
    ("::ffff:10.1.2.3", "private (IPv4 inside IPv6)"),
    ("::ffff:169.254.169.254", "link-local (IPv4 inside IPv6)"),
    ("64:ff9b::a9fe:a9fe", "link-local (IPv4 inside IPv6)"),  # NAT64 of 169.254.169.254
    ("64:ff9b::7f00:1", "loopback (IPv4 inside IPv6)"),
    ("2002:7f00:1::", "loopback (IPv4 inside IPv6)"),  # 6to4 of 127.0.0.1
    ("2002:c0a8:101::1", "private (IPv4 inside IPv6)"),  # 6to4 of 192.168.1.1
    ("64:ff9b:1::1", "reserved"),  # local-use NAT64 prefix
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "172.15.255.255",
    "172.32.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "192.169.0.1",
    "192.0.0.9",  # globally reachable anycast (PCP) inside 192.0.0.0/24
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize(("text", "category"), REFUSED)
def test_non_public_addresses_are_refused_with_their_category(text: str, category: str) -> None:
    assert blocked_address_reason(ipaddress.ip_address(text)) == category


@pytest.mark.parametrize("text", ALLOWED)
def test_public_unicast_addresses_are_allowed(text: str) -> None:
    assert blocked_address_reason(ipaddress.ip_address(text)) is None


METADATA = [
    "169.254.169.254",  # AWS, Azure, GCP
    "169.254.0.1",
    "fe80::1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "fd00:ec2::254",  # AWS over IPv6
    "100.100.100.200",  # Alibaba Cloud
    # the same inside IPv6, which reaches it (an outside probe: these were allowed)
    "::ffff:100.100.100.200",
    "64:ff9b::6464:64c8",
    "2002:6464:64c8::1",
    "192.0.0.192",  # Oracle Cloud Classic
    "::ffff:192.0.0.192",
]


@pytest.mark.parametrize("text", METADATA)
def test_allowing_private_networks_still_refuses_link_local_and_metadata_addresses(
    text: str,
) -> None:
    # A feed that redirects to the cloud metadata service must not reach it from a service
    # allowed to poll intranet feeds.
    check = address_policy(allow_private_networks=True)
    reason = check("feed.example", ipaddress.ip_address(text), 80)
    assert reason is not None and "even with allow_private_networks" in reason


@pytest.mark.parametrize("text", ["127.0.0.1", "10.0.0.1", "192.168.1.1", "fc00::1", "100.64.0.1"])
def test_allowing_private_networks_allows_loopback_and_private_addresses(text: str) -> None:
    assert address_policy(allow_private_networks=True)("h", ipaddress.ip_address(text), 80) is None
    assert address_policy(allow_private_networks=False)("h", ipaddress.ip_address(text), 80)


async def test_the_guard_refuses_a_metadata_address_before_any_connection() -> None:
    with pytest.raises(BlockedAddressError):
        await guarded_addresses("169.254.169.254", 80, address_policy(True), numeric_only=True)


@pytest.mark.parametrize(
    ("address", "said"),
    [
        # refused whatever allow_private_networks says: the message does not point at it
        ("169.254.169.254", "where cloud metadata services answer: refused even with"),
        ("fe80::1", "where cloud metadata services answer: refused even with"),
        ("100.100.100.200", "a cloud metadata service address: refused even with"),
        # what the setting allows, with "an" before a vowel
        ("0.0.0.0", "an unspecified address (private networks are not allowed; see"),
        ("127.0.0.1", "a loopback address (private networks are not allowed; see"),
    ],
)
def test_a_refusal_names_the_setting_only_where_it_helps(address: str, said: str) -> None:
    ip = ipaddress.ip_address(address)
    category = address_policy(False)("host", ip, 80)
    assert category is not None
    assert said in str(BlockedAddressError(address, ip, category))
