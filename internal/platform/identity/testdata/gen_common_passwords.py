#!/usr/bin/env python3
"""Generates ../common_passwords.txt: common passwords of 12+ characters.

Origin: written offline (no download). A hand-written seed of the words that
top the public "most common passwords" lists (password, qwerty, iloveyou,
dragon, football, monkey, letmein, ...) and keyboard walks, combined with the
suffixes people add to reach a length rule (123, 1234, 123456, !, years), plus
repeated and sequential patterns. Only entries of 12+ characters are kept
(shorter ones fail the length rule anyway). Matching is case-insensitive.
Run: python3 testdata/gen_common_passwords.py > common_passwords.txt
"""
words = """password passw0rd p@ssword p@ssw0rd qwerty qwertyuiop iloveyou dragon football
monkey letmein welcome welcome1 admin administrator sunshine princess baseball master
shadow superman batman trustno1 starwars whatever freedom michael jennifer jordan
hunter ranger buster soccer hockey killer charlie thomas robert daniel andrew
computer internet secret changeme default login access mustang harley maggie
ginger summer winter spring autumn flower cookie chocolate pokemon naruto
liverpool chelsea arsenal manchester barcelona juventus yankees cowboys lakers
america canada london paris berlin tessera abcdef abcdefgh zxcvbnm asdfghjkl
1qaz2wsx qazwsx qweasdzxc 1q2w3e4r 1q2w3e4r5t zaq12wsx loveyou iloveu
blink182 whatever1 hello helloworld happy lovely angel beautiful sweetheart
family friends forever jesus christ blessed purple orange yellow silver golden
diamond dolphin tigger pepper bailey buddy samsung google facebook apple
microsoft windows linux ubuntu oracle mysql postgres database security""".split()
suffixes = ["", "1", "12", "123", "1234", "12345", "123456", "!", "1!", "123!", "@123",
            "2020", "2021", "2022", "2023", "2024", "2025", "2026", "01", "69", "007",
            "!!", "1234!", "12345!", "123456789", "#1", "99", "00", "11", "22"]
prefixes = ["", "my", "the", "i", "iloveyou", "ilove"]
out = set()
for p in prefixes:
    for w in words:
        for s in suffixes:
            for v in {w, w.capitalize()}:
                cand = p + v + s
                if len(cand) >= 12:
                    out.add(cand.lower())
for w in words:
    for n in (2, 3):
        c = w * n
        if len(c) >= 12:
            out.add(c.lower())
walks = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "0987654321", "qwertyuiopasdfghjkl",
         "1qaz2wsx3edc", "1qaz2wsx3edc4rfv", "zaq1xsw2cde3", "qazwsxedcrfv", "qweasdzxc123",
         "abcdefghijkl", "abcdefghijklmnop", "abcdefghijklmnopqrstuvwxyz", "abc123abc123"]
for w in walks:
    for s in suffixes:
        c = w + s
        if len(c) >= 12:
            out.add(c.lower())
digits = "01234567890123456789"
for i in range(10):
    for n in range(12, 21):
        out.add(digits[i:i + n] if len(digits[i:i + n]) == n else "")
for ch in "abcdefghijklmnopqrstuvwxyz0123456789!":
    for n in range(12, 21):
        out.add(ch * n)
for pair in ["12", "123", "1234", "ab", "abc", "qwe", "asd", "69", "love"]:
    for n in range(12, 25):
        c = (pair * 30)[:n]
        out.add(c)
out.discard("")
for c in sorted(out):
    print(c)
