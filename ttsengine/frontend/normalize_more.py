"""More English readings (#23): markdown and LaTeX, version numbers, IP addresses, numbers
grouped with commas past 10^18 or with spaces, E.164 phone numbers, x/0, and "lead" the
metal. Called by :func:`ttsengine.frontend.normalize.normalize_english`."""

from __future__ import annotations

import re

from .number_words import number_to_words

__all__ = ["strip_markdown_latex", "expand_more"]

# -- markdown ------------------------------------------------------------------------------
_FENCE_RE = re.compile(r"^\s*(```|~~~)[^\n]*$", re.MULTILINE)
_IMAGE_LINK_RE = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_QUOTE_RE = re.compile(r"^\s{0,3}>\s?", re.MULTILINE)
_BULLET_RE = re.compile(r"^\s*[-*+]\s+(?=\S)", re.MULTILINE)
_RULE_RE = re.compile(r"^\s*(?:[-*_]\s*){3,}$", re.MULTILINE)
_EMPHASIS_RE = re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1|(?<![\w*])([*_])(?=\S)([^*_\n]+?)(?<=\S)\3(?![\w*])")
_CODE_RE = re.compile(r"`+([^`\n]+)`+")

# -- LaTeX ---------------------------------------------------------------------------------
_MATH_RE = re.compile(r"\$\$(.+?)\$\$|\\\((.+?)\\\)|\\\[(.+?)\\\]|(?<![\w$\\])\$(?=[^\s\d$])([^$\n]+?)\$(?!\d)",
                      re.DOTALL)
_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SQRT_RE = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_LATEX_WORDS = {
    "cdot": " times ", "times": " times ", "pm": " plus or minus ", "leq": " less than or equal to ",
    "le": " less than or equal to ", "geq": " greater than or equal to ", "ge": " greater than or equal to ",
    "neq": " not equal to ", "ne": " not equal to ", "approx": " approximately ", "infty": " infinity ",
    "to": " to ", "rightarrow": " to ", "sum": " the sum of ", "int": " the integral of ", "in": " in ",
    "partial": " partial ", "nabla": " nabla ", "ldots": " and so on ", "cdots": " and so on ",
}
_GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
          "sigma tau upsilon phi chi psi omega").split()
_COMMAND_RE = re.compile(r"\\([A-Za-z]+)\s*")


def _command(m: re.Match[str]) -> str:
    name = m.group(1)
    if name in _LATEX_WORDS:
        return _LATEX_WORDS[name]
    if name.lower() in _GREEK:
        return f" {name.lower()} "
    return " "  # \left, \mathrm, \text ...: their argument is read, the command is not


def _latex(text: str) -> str:
    for _ in range(3):  # nested \frac{\frac{..}{..}}{..}
        text = _FRAC_RE.sub(r" \1 over \2 ", text)
        text = _SQRT_RE.sub(r" the square root of \1 ", text)
    text = _COMMAND_RE.sub(_command, text)
    return text.replace("{", " ").replace("}", " ").replace("\\", " ")


def strip_markdown_latex(text: str) -> str:
    """Markdown marks removed (emphasis, headings, bullets, quotes, rules, fences, inline
    code; a link or image reads as its text) and LaTeX math read (``$...$``, ``$$...$$``,
    ``\\(...\\)``, ``\\[...\\]`` and bare commands: \\frac{a}{b} -> "a over b", \\sqrt,
    Greek letters, \\cdot, \\pm, \\leq ...). ``$5`` stays money."""
    if "\\" in text or "$" in text:
        text = _MATH_RE.sub(lambda m: " " + _latex(next(g for g in m.groups() if g is not None)) + " ", text)
        if "\\" in text:
            text = _FRAC_RE.sub(r" \1 over \2 ", text)
            text = _SQRT_RE.sub(r" the square root of \1 ", text)
            text = re.sub(r"\\(?:" + "|".join(sorted(set(_LATEX_WORDS) | set(_GREEK), key=len, reverse=True))
                          + r")(?![A-Za-z])", lambda m: _command(_COMMAND_RE.match(m.group(0))), text)
    text = _FENCE_RE.sub("", text)
    text = _RULE_RE.sub("", text)
    text = _IMAGE_LINK_RE.sub(r"\1", text)
    text = _HEADING_RE.sub("", text)
    text = _QUOTE_RE.sub("", text)
    text = _BULLET_RE.sub("", text)
    for _ in range(2):  # ***both*** = ** inside *
        text = _EMPHASIS_RE.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(4), text)
    return _CODE_RE.sub(r"\1", text)


# -- numbers -------------------------------------------------------------------------------
_SCALE_NAMES = ("", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion", "sextillion",
                "septillion", "octillion", "nonillion", "decillion")
_COMMA_GROUPED_RE = re.compile(r"(?<![\d.,])(\d{1,3})((?:,\d{3}){6,})(?![\d]|[.,]\d)")
_SPACE_GROUPED_RE = re.compile(r"(?<![\d.,+] )(?<![\d.,+])(\d{1,3})((?:[ \u00a0\u202f\u2009]\d{3}){2,}|"
                               r"(?:[\u00a0\u202f\u2009]\d{3})+)(?![\d]|[.,]\d| \d)")
_IP_RE = re.compile(r"(?<![\w.])((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})(?![\w]|\.\d)")
_VERSION_RE = re.compile(r"(?<![\w.])(?:([vV])(?=\d)|(?=\d{1,4}(?:\.\d{1,2}){2,}(?![\w]|\.\d)))(\d+(?:\.\d+)+)"
                         r"(?![\w]|\.\d)")
_E164_RE = re.compile(r"(?<![\w+])\+(\d{8,15})(?![\w]|[.,]\d)")
_OVER_ZERO_RE = re.compile(r"(?<![\w.,/])(\d+)/(0+)(?![\w/]|[.,]\d)")
_LEAD_RE = re.compile(r"\b([Ll])ead\b")
_METAL_CUES_RE = re.compile(r"\b(?:metals?|element|elements|poison\w*|toxic\w*|pipes?|paint|ore|alloy|atomic|"
                            r"periodic|Pb|batter(?:y|ies)|solder|bullets?|acid|oxide|mining)\b", re.IGNORECASE)
_LEAD_VERB_BEFORE_RE = re.compile(r"\b(?:to|will|would|can|could|may|might|must|should|shall|did|does|do|"
                                  r"they|we|you|I)\s+$", re.IGNORECASE)
_SENTENCE_RE = re.compile(r"[^.!?]+[.!?]*")


def _words(n: int) -> str:
    return number_to_words(n)


def _grouped(first: str, rest: str) -> str:
    """Digit groups read with scale words up to decillion (10^33); longer: group by group."""
    groups = [first] + re.findall(r"\d{3}", rest)
    if len(groups) > len(_SCALE_NAMES):
        return ", ".join(_words(int(g)) if i == 0 else " ".join(_words(int(d)) for d in g)
                         for i, g in enumerate(groups))
    parts = []
    for index, group in enumerate(groups):
        value = int(group)
        scale = _SCALE_NAMES[len(groups) - 1 - index]
        if value:
            parts.append(_words(value) + (" " + scale if scale else ""))
    return " ".join(parts) or "zero"


def _dotted(parts: list[str], joiner: str) -> str:
    return f" {joiner} ".join(_words(int(p)) if not (len(p) > 1 and p.startswith("0")) else
                              " ".join(_words(int(d)) for d in p) for p in parts)


def _lead(sentence: str) -> str:
    if "ead" not in sentence or not _METAL_CUES_RE.search(sentence):
        return sentence

    def repl(m: re.Match[str]) -> str:
        if _LEAD_VERB_BEFORE_RE.search(sentence, 0, m.start()) and \
                _LEAD_VERB_BEFORE_RE.search(sentence[:m.start()]):
            return m.group(0)
        return m.group(1) + "ed"

    return _LEAD_RE.sub(repl, sentence)


def expand_more(text: str) -> str:
    """The readings of this module's numbers (before the general number rules) and of
    "lead" the metal (spelled "led" for the G2P in a sentence about metals)."""
    text = _E164_RE.sub(lambda m: "plus " + " ".join(_words(int(d)) for d in m.group(1)), text)
    text = _IP_RE.sub(lambda m: _dotted(m.group(1).split("."), "dot"), text)
    text = _VERSION_RE.sub(lambda m: ("version " if m.group(1) else "") + _dotted(m.group(2).split("."), "point"),
                           text)
    text = _COMMA_GROUPED_RE.sub(lambda m: _grouped(m.group(1), m.group(2)), text)
    text = _SPACE_GROUPED_RE.sub(lambda m: _grouped(m.group(1), m.group(2)), text)
    text = _OVER_ZERO_RE.sub(lambda m: f"{_words(int(m.group(1)))} over zero", text)
    if "ead" in text:
        text = _SENTENCE_RE.sub(lambda m: _lead(m.group(0)), text)
    return text
