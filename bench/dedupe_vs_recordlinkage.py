"""Leadgate's duplicate matching against recordlinkage (PyPI) on the same generated people.

`leadgate-bench dedupe --write` writes the records and the known duplicate pairs; Leadgate
matches them in memory (its figures from the same run), then recordlinkage does the same job
its documented way: normalise (lower case, accents off), index candidate pairs by blocking
(same email; same company), compare (exact email, Jaro-Winkler on first and last names,
straight and swapped), and classify a pair as a match when the email agrees or both names
are at least 0.88 alike (the threshold Leadgate's own name rule starts at). Time counts
everything after the CSV is read. Usage: see dedupe_vs_recordlinkage.sh.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import pandas as pd
import recordlinkage
from recordlinkage.preprocessing import clean


def leadgate(binary, people, work):
    out = subprocess.run(
        [binary, "dedupe", "--people", str(people), "--write", work, "--json"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def recordlinkage_run(work):
    # Unknown values are NaN: blocks leave them out (an empty email is no evidence).
    records = pd.read_csv(os.path.join(work, "records.csv"), index_col="id", dtype=str)
    truth = pd.read_csv(os.path.join(work, "truth.csv"))
    started = time.perf_counter()
    for column in ["first_name", "last_name", "company"]:
        records[column] = clean(records[column], strip_accents="unicode")
    records["email"] = records["email"].str.lower()
    indexer = recordlinkage.Index()
    indexer.block("email")
    indexer.block("company")
    pairs = indexer.index(records)
    compare = recordlinkage.Compare()
    compare.exact("email", "email", missing_value=0, label="email")
    compare.string("first_name", "first_name", method="jarowinkler", label="first")
    compare.string("last_name", "last_name", method="jarowinkler", label="last")
    compare.string("first_name", "last_name", method="jarowinkler", label="first_last")
    compare.string("last_name", "first_name", method="jarowinkler", label="last_first")
    features = compare.compute(pairs, records)
    names = (((features["first"] >= 0.88) & (features["last"] >= 0.88))
             | ((features["first_last"] >= 0.88) & (features["last_first"] >= 0.88)))
    matches = features.index[names | (features["email"] == 1)]
    seconds = time.perf_counter() - started
    found = {(min(a, b), max(a, b)) for a, b in zip(matches.get_level_values(0).astype(int),
                                                     matches.get_level_values(1).astype(int))}
    known = set(zip(truth["a"], truth["b"]))
    hits = len(found & known)
    return {
        "seconds": seconds,
        "candidate_pairs": len(pairs),
        "pairs": len(found),
        "precision": hits / max(len(found), 1),
        "recall": hits / max(len(known), 1),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leadgate-bench", required=True)
    parser.add_argument("--people", default="100000,1000000")
    args = parser.parse_args()
    print(f"recordlinkage {recordlinkage.__version__}, pandas {pd.__version__}")
    for people in [int(p) for p in args.people.split(",") if p]:
        with tempfile.TemporaryDirectory() as work:
            ours = leadgate(args.leadgate_bench, people, work)
            theirs = recordlinkage_run(work)
        print(f"\n{people:,} people: {ours['records']:,} records, "
              f"{ours['known_pairs']:,} known duplicate pairs")
        print(f"  {'':34}{'pairs':>10}{'precision':>11}{'recall':>8}{'seconds':>10}")
        for level in ours["levels"]:
            print(f"  {'Leadgate, ' + level['level'] + ' (' + str(level['threshold']) + ')':34}"
                  f"{level['pairs']:>10,}{level['precision']:>11.3f}{level['recall']:>8.3f}"
                  f"{ours['seconds']:>10.1f}")
        print(f"  {'recordlinkage (rules above)':34}{theirs['pairs']:>10,}"
              f"{theirs['precision']:>11.3f}{theirs['recall']:>8.3f}{theirs['seconds']:>10.1f}")
        print(f"  recordlinkage compared {theirs['candidate_pairs']:,} candidate pairs; "
              f"time ratio Leadgate / recordlinkage {ours['seconds'] / theirs['seconds']:.3f}")


if __name__ == "__main__":
    main()
