"""Tables the suite makes: a housing-style CSV (numbers, a category column, a
price in the hundreds of thousands) and a CSV of reviews whose label depends
on their words. Used by tests/test_tables.py, tests/test_text.py and
benchmarks/tables.py."""
import csv

import numpy as np

OCEAN = {"INLAND": -70000, "NEAR BAY": 40000, "<1H OCEAN": 25000, "NEAR OCEAN": 55000}
GOOD = ["great", "wonderful", "loved", "superb", "excellent", "fun", "moving", "brilliant"]
BAD = ["awful", "boring", "hated", "dull", "terrible", "waste", "poor", "bland"]
FILLER = ["the", "film", "a", "was", "and", "plot", "actors", "it", "story", "music", "of",
          "ending", "scenes", "very", "this", "cast", "movie", "really", "quite", "but"]


def houses(path, n=3000, seed=0, oceans=OCEAN):
    """A housing CSV: rooms, age, income, lat, ocean (a category), price (the
    target: nonlinear in income and age, shifted by ocean, plus noise)."""
    rng = np.random.default_rng(seed)
    ocean = rng.choice(list(oceans), n)
    rooms = rng.integers(1, 9, n)
    age = rng.uniform(1, 52, n).round(1)
    income = rng.lognormal(1.2, 0.45, n).round(3)
    lat = rng.uniform(32.5, 42, n).round(2)
    price = (60000 + 110000 * np.sqrt(income) + 6000 * rooms - 25 * (age - 25) ** 2
             + 4000 * np.sin(lat) + np.array([oceans[o] for o in ocean])
             + rng.normal(0, 20000, n)).round(0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rooms", "age", "income", "lat", "ocean", "price"])
        w.writerows(zip(rooms, age, income, lat, ocean, price))
    return path


def reviews(path, n=1200, seed=0):
    """A CSV of reviews: text, label positive or negative by which words it holds
    more of (ties: a word of its own decides), with punctuation and case."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["review", "sentiment"])
        for _ in range(n):
            positive = rng.random() < 0.5
            mood = rng.choice(GOOD if positive else BAD, rng.integers(1, 3))
            words = list(rng.choice(FILLER, rng.integers(4, 11))) + list(mood)
            rng.shuffle(words)
            text = " ".join(words).capitalize() + rng.choice([".", "!", "...", "?!"])
            w.writerow([text, "positive" if positive else "negative"])
    return path
