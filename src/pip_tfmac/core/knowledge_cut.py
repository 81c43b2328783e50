"""The knowledge as it would be if it ended earlier: a test seam for releases newer than it.

Why: issue 12 part 4 (a TensorFlow or tensorflow-metal release the knowledge does not list is
link-checked from the wheels pip fetches) can only be exercised today on releases the knowledge
already lists. `cut()` makes a Knowledge that forgets every TensorFlow and tensorflow-metal
release outside two specifiers: their wheel-table entries, their link verdicts, and the part of
each curated pair rule that covers them. A plan with the cut knowledge meets those releases as
a plan with a stale knowledge file meets a new release. pip_tfmac.knowledge.load() applies the
cut named by $PIP_TFMAC_KNOWLEDGE_CUT (README, "test seams"); tests may call cut() directly.
Pure: values in, values out.
"""

from __future__ import annotations

from dataclasses import replace

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from pip_tfmac.core.errors import BadInputError
from pip_tfmac.core.knowledge import Knowledge
from pip_tfmac.core.links import LinkTable

ENV_VAR = "PIP_TFMAC_KNOWLEDGE_CUT"
TENSORFLOW_NAMES = (canonicalize_name("tensorflow"), canonicalize_name("tensorflow-macos"))
METAL = canonicalize_name("tensorflow-metal")
_REMEDY = f'unset {ENV_VAR} (a test seam), or set it like "tensorflow<2.17 tensorflow-metal<1.2"'


def parse_cut(text: str) -> tuple[SpecifierSet, SpecifierSet]:
    """"tensorflow<2.17 tensorflow-metal<1.2" (space or comma separated) -> the two specifiers;
    a name not given keeps every release. BadInputError on anything else."""
    tf, metal = SpecifierSet(), SpecifierSet()
    for item in text.replace(",", " ").split():
        try:
            req = Requirement(item)
        except InvalidRequirement:
            raise BadInputError(f"${ENV_VAR}: {item!r} is not NAME<SPECIFIER>.", _REMEDY) from None
        name = canonicalize_name(req.name)
        if name == canonicalize_name("tensorflow"):
            tf &= req.specifier
        elif name == METAL:
            metal &= req.specifier
        else:
            raise BadInputError(f"${ENV_VAR}: only tensorflow and tensorflow-metal can be cut, not {req.name}.",
                                _REMEDY)
    return tf, metal


def cut(knowledge: Knowledge, tensorflow: SpecifierSet, metal: SpecifierSet) -> Knowledge:
    """The knowledge without the TensorFlow releases `tensorflow` excludes and the plugin
    releases `metal` excludes (see the module docstring)."""
    keep = {name: tensorflow for name in TENSORFLOW_NAMES}
    keep[METAL] = metal
    wheels = {
        name: ({py: tuple(v for v in vs if keep[name].contains(v, prereleases=True))
                for py, vs in table.items()} if name in keep else table)
        for name, table in knowledge.wheels.items()
    }
    pairs = tuple(replace(p, tensorflow=p.tensorflow & tensorflow, metal=p.metal & metal)
                  for p in knowledge.metal_pairs)
    links = knowledge.links
    if links is not None:
        links = LinkTable(
            tuple(r for r in links.records if tensorflow.contains(r.tensorflow, prereleases=True)
                  and metal.contains(r.metal, prereleases=True)),
            links.generated_on, links.tool, links.coverage, links.source)
    return replace(knowledge, wheels=wheels, metal_pairs=pairs, links=links)
