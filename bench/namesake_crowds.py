"""A hostile import file: ROWS people at five companies sharing 256 names (16 first x 16
last), each with their own email at their company's domain. Matching must stay bounded on
it (issue "Close the holes"). Usage: python3 bench/namesake_crowds.py ROWS OUT.csv"""
import random
import sys

FIRST = ["Ana", "Bao", "Chen", "Dara", "Eli", "Farid", "Gia", "Hana", "Ivo", "Jana",
         "Kai", "Lam", "Mai", "Nika", "Omid", "Pia"]
LAST = ["Silva", "Tran", "Wang", "Rezaei", "Muller", "Kim", "Smith", "Garcia", "Le",
        "Patel", "Haddad", "Rossi", "Sato", "Novak", "Khan", "Berg"]

rows, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
with open(out, "w") as f:
    f.write("email,first name,last name,company,phone\n")
    for i in range(rows):
        c = i % 5
        f.write(f"p{i}@company{c}.com,{rng.choice(FIRST)},{rng.choice(LAST)},Company {c},\n")
