"""The allow-list as an attacker meets it (issue 14, items 1, 2, 3 and 5): one strict parse of
each URL, checked and connected to alike; the checked address pinned; AWS's guard always on.

Name resolution is replaced (``fake_dns``) only for the invented names these tests use; every
connection is real, to loopback servers.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.genomes import random_dna, write_fasta
from support.http_server import serve

from pavi.domain.errors import GenomeAccessError, UrlNotAllowedError
from pavi.domain.genome import IndexedFasta
from pavi.domain.url_policy import UrlPolicy, is_public, parse_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def genome(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("genome")
    write_fasta(folder, {"chr1": random_dna(5_000, 1)})
    return folder


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Callable[[], list[str]]], list[int]]:
    """``fake_dns(name, answers)``: ``name`` resolves to what ``answers()`` returns at each lookup;
    the returned list counts the lookups. Other names (and IP literals) resolve as they do."""
    real = socket.getaddrinfo
    names: dict[str, tuple[Callable[[], list[str]], list[int]]] = {}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in names:
            return real(host, port, *args, **kwargs)
        answers, lookups = names[host]
        lookups.append(1)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers()
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def install(name: str, answers: Callable[[], list[str]]) -> list[int]:
        names[name] = (answers, [])
        return names[name][1]

    return install


@pytest.fixture
def quick_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVI_HTTP_CONNECT_TIMEOUT", "0.3")
    monkeypatch.setenv("PAVI_HTTP_BACKOFF", "0")


# -- 1. one parse, and anything ambiguous refused

AMBIGUOUS = [
    "http://127.0.0.1:18742\\@93.184.216.34/genome.fa.gz",  # the reported bypass
    "http://93.184.216.34\\@127.0.0.1/genome.fa.gz",
    "http://user@93.184.216.34/genome.fa.gz",
    "http://user:pw@93.184.216.34/genome.fa.gz",
    "http://93.184.216.34/genome.fa.gz#@127.0.0.1",
    "http://93.184.216.34/a/../../latest/meta-data/",
    "http://93.184.216.34/a/%2e%2e/x.fa.gz",
    "http://93.184.216.34/a%2fb.fa.gz",
    "http://93.184.216.34/a%5cb.fa.gz",
    "http://93.184.216.34/x.fa.gz\x00",
    "http://93.184.216.34/x .fa.gz",
    "http://93.184.216.34/x.fa.gz\r\nHost: 127.0.0.1",
    "http://93.184.216.34\t/x.fa.gz",
    "http://2130706433/x.fa.gz",  # 127.0.0.1 as one number
    "http://0177.0.0.1/x.fa.gz",  # octal
    "http://0x7f.0.0.1/x.fa.gz",  # hexadecimal
    "http://127.1/x.fa.gz",  # shortened
    "http://093.184.216.34/x.fa.gz",  # a leading zero
    "http://%31%32%37.0.0.1/x.fa.gz",  # percent-encoded host
    "http://example.org./x.fa.gz",  # trailing dot
    "http://ex_ample.org/x.fa.gz",
    "http://\u0435xample.org/x.fa.gz",  # Cyrillic e
    "http://[::ffff:7f00:1]/x.fa.gz",  # IPv6 not in its compressed form
    "http://[fe80::1%25eth0]/x.fa.gz",  # a zone
    "http:///x.fa.gz",
    "http://93.184.216.34:99999/x.fa.gz",
    "gopher://93.184.216.34/x",
]


@pytest.mark.parametrize("url", AMBIGUOUS)
def test_an_ambiguous_url_is_refused_before_any_request(url: str) -> None:
    with pytest.raises(UrlNotAllowedError):
        UrlPolicy(("93.184.216.34", "example.org", "*.example.org")).resolve(url)


@pytest.mark.parametrize("policy", [UrlPolicy(None), UrlPolicy(("93.184.216.34", "127.0.0.1"), guard=False)])
def test_the_reported_bypass_reaches_nothing_even_with_the_guard_off(genome: Path, policy: UrlPolicy) -> None:
    with serve(genome) as server:
        port = server.url.rsplit(":", 1)[1]
        with pytest.raises(UrlNotAllowedError, match="backslash"):
            IndexedFasta(f"http://127.0.0.1:{port}\\@93.184.216.34/genome.fa.gz", policy)
        assert server.requests == []


def test_canonical_urls_parse_to_what_is_connected() -> None:
    parsed = parse_url("https://Genomes.Example.org:8443/fasta/x.fa.gz?version=2")
    assert (parsed.scheme, parsed.host, parsed.port, parsed.target) == (
        "https",
        "genomes.example.org",
        8443,
        "/fasta/x.fa.gz?version=2",
    )
    assert parsed.host_header == "genomes.example.org:8443"
    assert parse_url("http://[2001:db8::1]/x").host_header == "[2001:db8::1]"


# -- 2. the address that was checked is the one connected to


def test_each_request_goes_to_the_address_its_own_check_resolved(
    genome: Path, fake_dns: Callable[[str, Callable[[], list[str]]], list[int]]
) -> None:
    """Two servers on one port, 127.0.0.1 and 127.0.0.2; the name answers them in turn. Each
    request is preceded by exactly one lookup (the check's) and goes where it answered: a
    second lookup to connect would double the lookups and send requests the other way."""
    with serve(genome) as first:
        port = int(first.url.rsplit(":", 1)[1])
        with serve(genome, address=("127.0.0.2", port)) as second:
            answered: list[str] = []

            def answer() -> list[str]:
                answered.append("127.0.0.1" if len(answered) % 2 == 0 else "127.0.0.2")
                return [answered[-1]]

            fake_dns("rebind.test", answer)
            fasta = IndexedFasta(f"http://rebind.test:{port}/genome.fa.gz", UrlPolicy(("rebind.test",), guard=False))
            fasta.fetch("chr1", 1, 100)
            fasta.fetch("chr1", 4_000, 4_100)
            assert len(answered) == len(first.requests) + len(second.requests) >= 3
            assert len(first.requests) == answered.count("127.0.0.1")
            assert len(second.requests) == answered.count("127.0.0.2")
            assert set(first.hosts) | set(second.hosts) == {f"rebind.test:{port}"}


def test_a_name_that_answers_public_then_loopback_never_reaches_loopback(
    genome: Path, fake_dns: Callable[[str, Callable[[], list[str]]], list[int]], quick_http: None
) -> None:
    with serve(genome) as server:
        port = int(server.url.rsplit(":", 1)[1])
        answers = iter([["192.0.43.10"]])  # a public address nobody answers on here
        fake_dns("rebind.test", lambda: next(answers, ["127.0.0.1"]))
        with pytest.raises(GenomeAccessError):
            IndexedFasta(f"http://rebind.test:{port}/genome.fa.gz", UrlPolicy(("rebind.test",)))
        assert server.requests == []


def test_a_name_with_any_private_answer_is_refused(
    fake_dns: Callable[[str, Callable[[], list[str]]], list[int]],
) -> None:
    fake_dns("mixed.test", lambda: ["192.0.43.10", "10.0.0.1"])
    with pytest.raises(UrlNotAllowedError, match=r"non-public address 10\.0\.0\.1"):
        UrlPolicy(("mixed.test",)).resolve("http://mixed.test/x.fa.gz")


# -- 3. AWS's guard: always on, * is any public host, file:// never, the default names its buckets


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], UrlPolicy]:
    def policy(allow_list: str) -> UrlPolicy:
        monkeypatch.setenv("PAVI_URL_GUARD", "aws")
        monkeypatch.setenv("PAVI_FASTA_ALLOWLIST", allow_list)
        return UrlPolicy.from_env()

    return policy


@pytest.mark.parametrize("allow_list", ["", "*", "*,file://", "127.0.0.1,169.254.169.254,file://"])
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.fa.gz",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://169.254.170.2/v2/credentials",  # the ECS task credentials endpoint
        "http://[fd00:ec2::254]/latest/meta-data/",
        "file:///etc/passwd",
        "/etc/passwd",
    ],
)
def test_in_aws_no_list_turns_the_guard_off(aws: Callable[[str], UrlPolicy], allow_list: str, url: str) -> None:
    with pytest.raises(UrlNotAllowedError):
        aws(allow_list).check(url)


def test_in_aws_star_admits_any_public_host_and_empty_none(
    aws: Callable[[str], UrlPolicy], fake_dns: Callable[[str, Callable[[], list[str]]], list[int]]
) -> None:
    fake_dns("genomes.example.org", lambda: ["192.0.43.10"])
    aws("*").check("https://genomes.example.org/x.fa.gz")
    with pytest.raises(UrlNotAllowedError, match="not on the FASTA allow-list"):
        aws("").check("https://genomes.example.org/x.fa.gz")
    with pytest.raises(UrlNotAllowedError, match="bucket"):
        aws("").check("s3://agrjbrowse/x.fa.gz")


def test_the_templates_default_admits_only_the_buckets_it_names(
    aws: Callable[[str], UrlPolicy], fake_dns: Callable[[str, Callable[[], list[str]]], list[int]]
) -> None:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)
    policy = aws(template["Parameters"]["FastaAllowList"]["Default"])
    fake_dns("s3.amazonaws.com", lambda: ["52.216.0.1"])
    fake_dns("agrjbrowse.s3.amazonaws.com", lambda: ["52.216.0.2"])
    policy.check("s3://agrjbrowse/fasta/GCF_000001405.40.fa.gz")
    policy.check("https://s3.amazonaws.com/agrjbrowse/fasta/GCF_000001405.40.fa.gz")
    for refused in [
        "https://s3.amazonaws.com/another-bucket/x.fa.gz",
        "https://s3.amazonaws.com/agrjbrowse-evil/x.fa.gz",
        "https://s3.amazonaws.com/agrjbrowse/../another-bucket/x.fa.gz",
        "http://s3.amazonaws.com/agrjbrowse/x.fa.gz",  # not TLS: not the prefix listed
        "s3://another-bucket/x.fa.gz",
    ]:
        with pytest.raises(UrlNotAllowedError):
            policy.check(refused)


def test_the_template_sets_the_aws_guard_on_every_reader_of_urls() -> None:
    text = (ROOT / "template.yaml").read_text()
    assert text.count("PAVI_FASTA_ALLOWLIST") == text.count("PAVI_URL_GUARD: aws") + text.count(
        "Name: PAVI_URL_GUARD\n            Value: aws"
    )


# -- 5. IPv6 forms that embed an IPv4 address are judged by it


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 well-known prefix, 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64, 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64, 10.0.0.1
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "::1",
        "fe80::1",
        "fd00:ec2::254",
    ],
)
def test_embedded_non_public_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    url = f"http://[{ipaddress.ip_address(address).compressed}]/x.fa.gz"
    with pytest.raises(UrlNotAllowedError, match="non-public"):
        UrlPolicy(None, guard=True).resolve(url)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_stay_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))
