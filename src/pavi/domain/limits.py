"""The bounds a job is held to, in one place (``docs/limits.md`` says where each is enforced).

Each bound follows from what a later part of the pipeline can take, so that a request is
refused (or an entry failed, with its reason) before that part breaks or spends unbounded
memory or time:

- sequence names: Clustal Omega 1.2.4 keeps the first :data:`CLUSTAL_NAME_CHARS` characters
  of a name and writes a name that starts with ``-`` as blank, so longer names (or such names)
  would give two rows one name, or a row none;
- residues: Clustal Omega's memory grows with the square of the longest sequences it must
  align pairwise (:data:`MAX_PROTEIN_RESIDUES` gives the measures);
- variants: each ``variant_ids`` entry not defined inline is one request to the variant API;
- index files: a ``.fai`` is one line per sequence, a ``.gzi`` 16 bytes per 64 KiB block;
- BGZF blocks: at most 64 KiB of text each, by the format's definition.
"""

from __future__ import annotations

CLUSTAL_NAME_CHARS = 127
"""Characters of a sequence name Clustal Omega 1.2.4 keeps (it cuts the rest)."""

MAX_VARIANT_IDS_PER_ENTRY = 200
"""``variant_ids`` an entry may list (each may be a variant-API request)."""

MAX_VARIANT_LOOKUPS_PER_JOB = 1_000
"""Distinct variant IDs a job may need from the variant API (those not defined inline)."""

MAX_INLINE_VARIANTS_PER_ENTRY = 20_000
"""Inline ``variants`` an entry may define (the request's body size bounds them too)."""

VARIANT_LOOKUPS_AT_ONCE = 8
"""Variant-API requests a retrieval makes at the same time."""

MAX_PROTEIN_RESIDUES = 36_000
"""Residues one protein may have: titins (human TTN 34,350, mouse Ttn 35,213) fit (issue 29). Each
job's alignment task is sized to its longest protein by the measured model
(:mod:`pavi.domain.alignment_model`): Clustal Omega's memory grows with the square of the longest
protein (3,191 MiB at 8,000 residues), so a job it could not align within the deployment's ceiling
goes to FAMSA, and one no task holds is refused with the figure. The expected length is checked at
validation (CDS plus inserted bases), the real one after translation (an ORF, a variant looked up by ID)."""

MAX_JOB_RESIDUES = 5_000_000
"""Residues all of a job's proteins may have together (expected, at validation): 10,000
entries of 500 residues (the Batch lane aligned 10,000 entries in 677 s on one thread)."""

MAX_FAI_BYTES = 64 * 1024 * 1024
"""A ``.fai`` index's size: about a million sequences at its usual 60 bytes a line."""

MAX_GZI_BYTES = 64 * 1024 * 1024
"""A ``.gzi`` index's size: 16 bytes per 64 KiB block, so a genome of up to 256 GB of text."""

MAX_MATRIX_SEQUENCES = 2_000
"""Sequences of a job whose percent-identity matrix is written (4 million values, a 28 MB TSV);
a larger job's report says it was not (its matrix would not fit the collection's memory)."""

MAX_VARIANT_TABLE_ROWS = 250_000
"""Rows (embedded variants x aligned sequences) of the variant position table a job gets; the
collection measured 200,000 rows (1,000 sequences, 200 variants) in 3.15 s and 326 MB."""

BGZF_BLOCK_TEXT = 65_536
"""Bytes of text a BGZF block holds at most (the SAM/BAM format specification)."""
