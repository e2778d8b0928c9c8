"""``pavi job``: a job request from a genome FASTA, a GFF3/GTF annotation and a VCF/BCF (issue 30);
``pavi run`` takes the same options instead of a request file (:func:`add_job_options`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_job_options(command: argparse.ArgumentParser, required: bool) -> None:
    """The options that build a request (all optional on ``pavi run``, which can take a file)."""
    command.add_argument(
        "--genome",
        required=required,
        help="genome FASTA: bgzip with .fai/.gzi, or plain or gzip "
        "(bgzipped and indexed beside it, with a message); a path, s3:// or https://",
    )
    command.add_argument(
        "--annotation",
        required=required,
        help="GFF3 or GTF: plain, gzip, or bgzip (read by region with its tabix index)",
    )
    command.add_argument(
        "--select",
        nargs="+",
        default=[],
        metavar="NAME",
        help="transcript IDs, gene IDs or gene names (a gene: its protein-coding transcripts)",
    )
    command.add_argument("--select-file", help="a file of such names, one a line")
    command.add_argument("--variants", help="VCF or BCF (bgzip + tabix/CSI; a bgzip VCF without one is indexed)")
    command.add_argument(
        "--group",
        default="record",
        metavar="HOW",
        help="variants into alternative proteins: record (default: each allele its own), all (a "
        "transcript's together), sample (each sample's; both haplotypes when phased), set:FILE "
        "(SET<TAB>VARIANT_ID lines)",
    )
    command.add_argument(
        "--seq-map",
        nargs="+",
        default=[],
        metavar="NAME=FASTA_NAME",
        help="the FASTA's name of an annotation or VCF sequence, pairs or a file of them "
        "(two columns); 'auto': chr added or taken off",
    )


def build_request(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    """The request the options describe; AnnotationError, GenomeAccessError or OSError when it cannot be built."""
    from pavi.domain.genome import IndexedFasta
    from pavi.domain.job_builder import build_job, prepare_genome, read_sets

    names = list(args.select)
    if args.select_file:
        names += [line.strip() for line in Path(args.select_file).read_text().splitlines() if line.strip()]
    if not names:
        raise ValueError("name what to align: --select NAME... or --select-file FILE")
    seq_map: dict[str, str] = {}
    auto = False
    for item in args.seq_map:
        if item == "auto":
            auto = True
        elif "=" in item:
            seq_map[item.split("=", 1)[0]] = item.split("=", 1)[1]
        else:
            pairs = [line.split() for line in Path(item).read_text().splitlines() if line.strip()]
            seq_map.update((pair[0], pair[1]) for pair in pairs if len(pair) == 2)
    sets = read_sets(Path(args.group[4:]).read_text(), args.group[4:]) if args.group.startswith("set:") else None
    url = prepare_genome(args.genome, say)
    built = build_job(IndexedFasta(url), url, args.annotation, names, args.variants, args.group, seq_map, auto, sets)
    for note in built.notes:
        say(note)
    return {"seq_regions": built.entries}


def cmd_job(args: argparse.Namespace) -> int:
    from pavi.domain.errors import PaviError

    def say(line: str) -> None:
        print(f"pavi job: {line}", file=sys.stderr)

    try:
        request = build_request(args, say)
    except (PaviError, OSError, ValueError) as error:
        say(f"no request written: {error}")
        return 2
    text = json.dumps(request, indent=1) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
    entries = request["seq_regions"]
    alternatives = sum(1 for entry in entries if entry.get("variants"))
    say(f"wrote {args.out}: {len(entries)} entries ({alternatives} with variants); run it with: pavi run {args.out}")
    return 0


def add_job_command(commands: Any) -> None:
    job = commands.add_parser(
        "job",
        help="write a job request from a genome FASTA, a GFF3/GTF annotation and (optionally) a VCF/BCF",
        description="Build the request of a job from the files a genome project publishes: each selected "
        "transcript's exons and CDS (with their phases) from the annotation, and the VCF's records in it "
        "(exons, introns) as inline variants, grouped by --group. Nothing is written unless the whole request "
        "can be. Exit 0 written, 2 refused (the reason on stderr).",
    )
    add_job_options(job, required=True)
    job.add_argument("--out", default="-", help="the request file (default: stdout)")
    job.set_defaults(handler=cmd_job)
