"""Generates sentences.txt: several thousand varied English sentences (statements, questions,
exclamations, numbers, dates, times, money, abbreviations, lists, dialogue), deterministic.

    python recipes/default_voice/make_sentences.py -n 5000 -o recipes/default_voice/sentences.txt

Written for ttsengine (Apache-2.0); the vocabulary and templates are our own.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

NAMES = ["Alice", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Isabel", "Jamal", "Kate",
         "Liam", "Maya", "Noah", "Olivia", "Priya", "Quentin", "Rosa", "Samuel", "Tara", "Uma", "Victor",
         "Wendy", "Xavier", "Yusuf", "Zoe", "Dr. Patel", "Mrs. Green", "Mr. Okafor", "Professor Lindqvist"]
PLACES = ["the library", "the train station", "the old harbor", "a small village", "the mountains",
          "the city center", "the museum", "the bakery on Elm Street", "the airport", "the hospital",
          "the garden", "the river bank", "the market", "the school gym", "the top floor", "the beach",
          "the office", "the concert hall", "a quiet cafe", "the northern forest"]
NOUNS = ["umbrella", "letter", "bicycle", "report", "guitar", "recipe", "ticket", "map", "camera",
         "notebook", "jacket", "package", "lantern", "painting", "key", "telescope", "sandwich",
         "violin", "suitcase", "photograph", "clock", "kettle", "radio", "blanket", "compass"]
ADJS = ["quiet", "bright", "heavy", "strange", "ancient", "tiny", "wonderful", "broken", "shiny",
        "careful", "nervous", "curious", "patient", "enormous", "gentle", "sudden", "peculiar",
        "cheerful", "dusty", "brilliant", "cold", "warm", "crowded", "empty", "fragile"]
VERBS_PAST = ["found", "lost", "painted", "repaired", "borrowed", "delivered", "forgot", "opened",
              "carried", "described", "discovered", "ordered", "returned", "measured", "photographed",
              "sold", "wrapped", "cleaned", "designed", "hid"]
VERBS_BASE = ["find", "bring", "open", "check", "explain", "describe", "repair", "carry", "visit",
              "remember", "organize", "finish", "measure", "translate", "follow", "answer", "build"]
ADVS = ["slowly", "quickly", "carefully", "happily", "quietly", "suddenly", "eventually", "honestly",
        "reluctantly", "proudly", "gently", "almost", "barely", "easily", "loudly"]
TIMES = ["yesterday", "this morning", "last week", "on Monday", "after lunch", "before sunrise",
         "in the evening", "two days ago", "at midnight", "during the storm", "next Friday", "soon"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
FEELINGS = ["happy", "surprised", "worried", "tired", "excited", "confused", "relieved", "grateful"]
TOPICS = ["the weather", "the election", "the new bridge", "climate change", "the football match",
          "ancient history", "the price of bread", "space travel", "the school play", "renewable energy",
          "the budget", "modern art", "the town festival", "a new vaccine", "the local election"]


def _sentence(r: random.Random) -> str:
    n, n2 = r.sample(NAMES, 2)
    p, noun, adj, adj2 = r.choice(PLACES), r.choice(NOUNS), r.choice(ADJS), r.choice(ADJS)
    vp, vb, adv, t = r.choice(VERBS_PAST), r.choice(VERBS_BASE), r.choice(ADVS), r.choice(TIMES)
    num = r.choice([r.randint(2, 19), r.randint(20, 99), r.randint(100, 999), r.randint(1000, 25000)])
    templates = [
        f"{n} {vp} the {adj} {noun} at {p} {t}.",
        f"Did {n} really {vb} the {noun} {t}?",
        f"Why would anyone {vb} a {adj} {noun} at {p}?",
        f"What a {adj} {noun} that was!",
        f"{n} and {n2} {adv} walked to {p}, talking about {r.choice(TOPICS)}.",
        f"Please {vb} the {noun} before {n} gets back.",
        f"There were {num} people at {p} {t}.",
        f"The {noun} cost ${r.randint(1, 500)}.{r.randint(10, 99)}, which {n} thought was too much.",
        f"On {r.choice(MONTHS)} {r.randint(1, 28)}, {r.randint(1950, 2030)}, {n} {vp} a {noun}.",
        f"The meeting starts at {r.randint(1, 12)}:{r.choice(['00', '15', '30', '45'])} {r.choice(['a.m.', 'p.m.'])}.",
        f"\"I {r.choice(['never', 'always', 'sometimes'])} {vb} things like that,\" said {n}.",
        f"{n} felt {r.choice(FEELINGS)} when the {noun} finally arrived.",
        f"If you {vb} the {noun}, {n2} will {r.choice(VERBS_BASE)} it {adv}.",
        f"We need a {noun}, a {r.choice(NOUNS)}, and a {adj} {r.choice(NOUNS)}.",
        f"Is the {noun} {adj}, or is it just {adj2}?",
        f"{n} asked, \"Where did you put the {noun}?\"",
        f"Nobody knew that {n} had {vp} the {noun} at {p}.",
        f"The temperature dropped to {r.randint(-15, 12)} degrees {t}.",
        f"About {r.randint(2, 98)} percent of the {noun}s were {adj}.",
        f"{n}'s {adj} {noun} was the {r.choice(['first', 'second', 'third', 'last'])} thing we noticed.",
        f"Honestly, I think {r.choice(TOPICS)} matters more than {r.choice(TOPICS)}.",
        f"Call {n} at {r.randint(200, 999)}-{r.randint(1000, 9999)} if the {noun} is still missing.",
        f"Wow, {n2}, you {adv} {vp} it!",
        f"Although it was {adj}, the {noun} worked perfectly.",
        f"Chapter {r.randint(1, 40)}: the {adj} {noun} of {p.replace('the ', '')}.",
    ]
    return re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", r.choice(templates)).replace("..", ".")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("-o", "--output", default=str(Path(__file__).with_name("sentences.txt")))
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    r = random.Random(args.seed)
    seen: set[str] = set()
    out = []
    while len(out) < args.n:
        s = _sentence(r)
        if s not in seen:
            seen.add(s)
            out.append(s)
    Path(args.output).write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {len(out)} sentences to {args.output}")


if __name__ == "__main__":
    main()
