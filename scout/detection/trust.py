"""The run's trust signal: how far its imagery lies from what the model learned, and whether the
share of the AOI it flagged is plausible.  Never silent: every run states both in ``run.json``
(``trust``) and in its summary line, and says in plain sentences (``warnings``) when either is
out of range, so the summary, the QGIS project and anyone reading the run folder see it before
a ground team is sent.

Real plantings left today are small and scattered (a courtyard, a strip in maize): a run that
flags several percent of its AOI has almost surely met imagery its model does not know.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scout import domain
from scout.lang import Lang, text
from scout.model.card import ModelCard

FLAGGED_SHARE_WARN = 0.02
"""Flagged share of the AOI above which a run is implausible (2%: a 50 ha village flight with 50
plots of 200 m² flags 2%)."""
FAR_SHARE_WARN = 0.5
"""Share of the imagery's windows farther from the training imagery than 99% of the training
windows themselves, above which the imagery counts as unlike what the model learned."""


def assess(card: ModelCard, flagged_m2: float, imaged_m2: float, descriptors: np.ndarray, lang: Lang = "en") -> dict[str, Any]:
    """``run.json``'s ``trust`` entry and ``warnings``: the flagged share, the imagery's distance from
    the training imagery (when the card records it), and a sentence for each that is out of range,
    in the run's language (the QGIS project heads its legend with them)."""
    share = flagged_m2 / imaged_m2 if imaged_m2 > 0 else 0.0  # of the AOI where there is imagery
    trust: dict[str, Any] = {"flagged_share": round(share, 5), "flagged_share_warn": FLAGGED_SHARE_WARN}
    warnings = []
    if card.domain:
        cmp = domain.compare(descriptors, card.domain)
        trust["imagery"] = {**cmp, "far_share_warn": FAR_SHARE_WARN, "measure": f"{domain.VERSION}: colour and texture of {domain.WINDOW_PX} px windows at model GSD"}
        if cmp["far_share"] is not None and cmp["far_share"] > FAR_SHARE_WARN:
            warnings.append(text("warn_unlike", lang, far=cmp["far_share"], model=card.name))
    else:
        trust["imagery"] = {"windows": 0, "far_share": None, "measure": f"unknown: {card.name} {card.version} records no training imagery"}
    if share > FLAGGED_SHARE_WARN:
        warnings.append(text("warn_flagged", lang, share=share, model=card.name))
    return {"trust": trust, "warnings": warnings}


def statement(trust: dict[str, Any], lang: Lang = "en") -> str:
    """The summary line's part: how far the imagery lies from the training imagery."""
    far = (trust.get("imagery") or {}).get("far_share")
    return text("trust_unknown", lang) if far is None else text("trust_unlike", lang, far=far)
