"""Synthetic, entirely fictional pupil data for ``targetkit demo``, the examples and benchmarks.

Every function is pure: it returns pandas DataFrames and writes nothing. Output depends only on
the arguments (a fixed-seed numpy ``Generator`` per function), so the demo files, the README
examples and the benchmarks are reproducible. Everything is generated a column at a time, so
100,000-pupil cohorts for benchmarks take well under a couple of seconds.

Pupils get a hidden "ability" from which their results in every subject are drawn (with noise),
so prior attainment, latest assessments, SEN, FSM and attendance are related the way they are in
real schools. Each generator draws UPNs from its own school number (or allocation year), so the
files ``targetkit demo`` writes side by side never give one UPN to two different children.
The academic year is 2026/27 unless ``academic_year`` says otherwise (the year in which it
starts).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import pandas as pd

from targetkit.columns import DATA_DROPS
from targetkit.upn import ALPHABET, make_upns

__all__ = [
    "ACADEMIC_YEAR",
    "ETHNICITY_CODES",
    "KS1_GRADES",
    "NON_GRADE_CODES",
    "STEP_NAMES",
    "TRACKING_POINTS",
    "dob_range",
    "infant_cohort",
    "ks3_cohort",
    "la_submissions",
    "messy_mis_export",
    "primary_cohort",
    "secondary_cohort",
    "step_grade",
    "steps_tracking",
    "sublevel",
]

ACADEMIC_YEAR: Final = 2026
"""Start year of the academic year the demo data is for (2026/27)."""

KS1_GRADES: Final = ("W", "1c", "1b", "1a", "2c", "2b", "2a", "3")
"""Grades a KS1 teacher assessment could give (level 3 reported as a whole level)."""

NON_GRADE_CODES: Final = ("A",)
"""Non-grade codes the demo plants (A = absent)."""

STEP_NAMES: Final = ("b", "b+", "w", "w+", "s", "s+")
"""The six steps of a year band on the steps scale: beginning, working within, secure (+)."""

TRACKING_POINTS: Final = DATA_DROPS
"""The six half-termly data drops of a school year."""

SUBJECTS_PRIMARY: Final = ("reading", "writing", "maths")

# CBDS ethnicity code → (share of primary pupils, name pool, chance of English as an additional
# language). Shares are rounded from the DfE's "Schools, pupils and their characteristics".
_ETHNICITY: Final = {
    "WBRI": (0.640, "british", 0.01),
    "WIRI": (0.004, "irish", 0.02),
    "WIRT": (0.002, "irish", 0.05),
    "WOTH": (0.070, "european", 0.75),
    "WROM": (0.004, "european", 0.60),
    "MWBC": (0.016, "british", 0.03),
    "MWBA": (0.009, "black", 0.10),
    "MWAS": (0.016, "south_asian", 0.20),
    "MOTH": (0.022, "other", 0.25),
    "AIND": (0.035, "south_asian", 0.60),
    "APKN": (0.045, "south_asian", 0.75),
    "ABAN": (0.018, "south_asian", 0.85),
    "AOTH": (0.020, "south_asian", 0.70),
    "BCRB": (0.010, "black", 0.02),
    "BAFR": (0.040, "black", 0.55),
    "BOTH": (0.008, "black", 0.30),
    "CHNE": (0.005, "chinese", 0.65),
    "OOTH": (0.020, "other", 0.70),
    "REFU": (0.005, "british", 0.05),
    "NOBT": (0.009, "british", 0.05),
}
ETHNICITY_CODES: Final = tuple(_ETHNICITY)

# Fictional names: common given names and surnames, combined at random. Accents, apostrophes,
# hyphens and spaces are deliberate: they must survive every reader and writer.
_NAMES: Final = {
    "british": (
        "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Poppy Evie Ella "
        "Chloé Zoë Hannah Ruby Jessica Emily Sophie Ellie Maisie Erin Phoebe Matilda Harriet "
        "Daisy Scarlett Millie Lola Mary-Jane",
        "Oliver George Noah Arthur Leo Harry Oscar Jack Charlie Jacob Thomas Freddie Alfie Theo "
        "Archie Henry Joshua Samuel Daniel Callum Rhys Dylan Ethan Finley Reuben Tyler Kai Max "
        "Toby Harrison",
        "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
        "Walker White Roberts Green Hall Wood Jackson Clarke Hughes Edwards Lewis Harris Martin "
        "Cooper Ward Morris Turner Hill Moore Baker Bell Scott-Lewis Atkinson Fletcher Dawson "
        "Marsh Pearson Holt Whitfield Ashworth Barker Lambert",
    ),
    "irish": (
        "Niamh Siobhán Aoife Caoimhe Róisín Erin Orla Saoirse",
        "Seán Ciarán Oisín Conor Liam Darragh Cillian Patrick",
        "O'Brien O'Connor Murphy Kelly Byrne McCarthy Doyle Walsh Ryan O'Sullivan Ó_Briain",
    ),
    "european": (
        "Zofia Maja Wiktoria Lena Amelia Ioana Zuzanna Emilia Natália Ana",
        "Jakub Kacper Oskar Filip Szymon Andrei Matei Lukas Tomás Mihai",
        "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Popescu Ionescu Horvat Petrov Kazlauskas "
        "Dvořák Novák",
    ),
    "south_asian": (
        "Aisha Fatima Maryam Zara Ayesha Hafsa Khadija Noor Priya Ananya Simran Anaya Inaaya",
        "Muhammad Mohammed Yusuf Ibrahim Zain Hamza Ali Bilal Aarav Arjun Rohan Ravi Ayaan",
        "Patel Shah Singh Sharma Gupta Khan Ahmed Hussain Ali Iqbal Rahman Uddin Malik Akhtar "
        "Chowdhury Mahmood D'Souza",
    ),
    "black": (
        "Amara Precious Chiamaka Adaeze Ama Abena Grace Tiana Aaliyah Zuri Esther Blessing",
        "Kwame Tobi Chidi Kofi Emeka Jayden Malachi Tyrese Daniel Joshua Samuel David",
        "Okafor Adeyemi Mensah Owusu Osei Boateng Okonkwo Adebayo Campbell Thomas Francis Clarke "
        "Brown Williams",
    ),
    "chinese": (
        "Mei Jia Xin Chloe Grace Ying Hui Lily",
        "Wei Jun Hao Ethan Lucas Ryan Zhi Ming",
        "Chen Wong Li Zhang Wang Liu Huang Lam Cheung",
    ),
    "other": (
        "Lucía Zoë Amélie Renée Sofia Leila Elif Inès Yasmin Aylin Maria Nour",
        "José Mateo Luca Omar Karim Emre Rafael João Adrián Yusuf Tariq Théo",
        "Nguyen Kaya Yılmaz Fernández García Silva Santos Haddad Mansour Rossi Moreau Tran "
        "Al-Sayed",
    ),
}

_SCHOOLS_CURATED: Final = (
    "Oakfield Primary",
    "St Mary's CE Primary",
    "Riverside Community Primary",
    "Hillview Junior",
    "Brookside Primary Academy",
)
_SCHOOL_PLACES: Final = (
    "Ashgrove",
    "Beechwood",
    "Castle Hill",
    "Elmtree",
    "Fernside",
    "Greenbank",
    "Hawthorn",
    "Kingsmead",
    "Larkrise",
    "Meadowside",
    "Northfield",
    "Orchard",
    "Parkside",
    "Queensway",
    "Redbrook",
    "Southmead",
    "Thornbury",
    "Upton",
    "Valley",
    "Westbury",
    "Willowbrook",
    "Yewtree",
    "Beacon",
    "Cherrywood",
    "Foxhill",
    "Lindenfield",
    "Moorlands",
    "Stanmore",
)
_SCHOOL_KINDS: Final = (
    "Primary",
    "Junior",
    "Primary Academy",
    "Community Primary",
    "CE Primary",
    "RC Primary",
)

# Salts keep each generator's random stream separate, so primary_cohort(seed=1) and
# steps_tracking(seed=1) do not share pupils by accident.
_SALT_PRIMARY, _SALT_INFANT, _SALT_KS3, _SALT_SECONDARY = 11, 12, 13, 14
_SALT_STEPS, _SALT_LA, _SALT_MESSY = 15, 16, 17

_KS1_POINTS: Final = np.array([3, 7, 9, 11, 13, 15, 17, 21])
# Shares of each KS1 grade (W … 3), roughly the national 2015 KS1 teacher assessments.
_KS1_SHARES: Final = {
    "reading": (0.03, 0.02, 0.03, 0.04, 0.08, 0.22, 0.28, 0.30),
    "writing": (0.04, 0.03, 0.04, 0.06, 0.12, 0.27, 0.26, 0.18),
    "maths": (0.03, 0.02, 0.03, 0.05, 0.09, 0.24, 0.28, 0.26),
}
_KS2_LEVEL_SHARES: Final = {  # levels 3, 4, 5, 6
    "english": (0.13, 0.42, 0.40, 0.05),
    "maths": (0.12, 0.38, 0.42, 0.08),
    "science": (0.10, 0.42, 0.46, 0.02),
}
_EYFS_SHARES: Final = (0.22, 0.63, 0.15)  # emerging, expected, exceeding

# Sub-level by National Curriculum points: W = 3, 1c = 7 … 7a = 47 (odd points only).
_SUBLEVEL_BY_POINTS = np.full(48, None, dtype=object)
_SUBLEVEL_BY_POINTS[3] = "W"
for _level in range(1, 8):
    for _offset, _letter in enumerate("cba"):
        _SUBLEVEL_BY_POINTS[6 * _level + 1 + 2 * _offset] = f"{_level}{_letter}"
del _level, _offset, _letter


# --------------------------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------------------------


def _rng(seed: int, *salt: int) -> np.random.Generator:
    """A generator for one function and seed, independent of every other function's."""
    return np.random.default_rng([seed, *salt])


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz & Stegun 7.1.26; error < 2e-7), to turn a latent score into
    a uniform rank that is then cut at a grade distribution's cumulative shares."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


def _cut(score: np.ndarray, shares: tuple[float, ...]) -> np.ndarray:
    """Category index (0 = lowest) for each standard-normal score, given the category shares."""
    bounds = np.cumsum(shares)[:-1] / np.sum(shares)
    return np.searchsorted(bounds, _normal_cdf(score), side="right")


def _subject_score(
    rng: np.random.Generator, ability: np.ndarray, weight: float = 0.85
) -> np.ndarray:
    """A standard-normal score for one subject: mostly the pupil's ability, partly the subject."""
    return weight * ability + np.sqrt(1.0 - weight**2) * rng.standard_normal(len(ability))


def sublevel(points: np.ndarray) -> np.ndarray:
    """National Curriculum sub-levels for point scores, rounded to the nearest sub-level.

    Below 1c (7 points) gives ``W``; above 7a (47) gives ``7a``.
    """
    rounded = (2 * np.round((np.asarray(points, dtype=float) - 1) / 2) + 1).astype(np.int64)
    rounded = np.clip(rounded, 3, 47)
    rounded[rounded < 7] = 3
    return _SUBLEVEL_BY_POINTS[rounded]


def step_grade(points: np.ndarray) -> np.ndarray:
    """Steps-scale grades (``3w+``) for step points (1 = 1b … 36 = 6s+)."""
    points = np.asarray(points, dtype=np.int64)
    if (points < 1).any():
        raise ValueError("step points start at 1 (1b)")
    bands = ((points - 1) // 6 + 1).astype(str).astype(object)
    steps = np.asarray(STEP_NAMES, dtype=object)[(points - 1) % 6]
    return bands + steps


def dob_range(year_group: int, academic_year: int = ACADEMIC_YEAR) -> tuple[dt.date, dt.date]:
    """First and last date of birth for a year group in an academic year (1 Sep – 31 Aug).

    Year 6 in 2026/27 were born 1 Sep 2015 – 31 Aug 2016; Reception (0) five years later.
    """
    first_year = academic_year - year_group - 5
    return dt.date(first_year, 9, 1), dt.date(first_year + 1, 8, 31)


def _text(values: np.ndarray | list[str]) -> pd.Series:
    return pd.Series(values, dtype="str")


def _empty_text(n: int) -> pd.Series:
    return pd.Series(np.full(n, None, dtype=object), dtype="str")


# --------------------------------------------------------------------------------------------
# Pupils
# --------------------------------------------------------------------------------------------


def _pupils(
    rng: np.random.Generator,
    n: int,
    *,
    year_group: int,
    school: str,
    la: int,
    school_number: int,
    academic_year: int,
    ability_shift: float = 0.0,
    fsm_rate: float = 0.23,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The canonical pupil columns for ``n`` pupils, sorted by name, plus each pupil's ability.

    Ability is standard normal (shifted per school) and drives SEN, FSM, gifted and every result.
    """
    if n < 0:
        raise ValueError(f"pupils must be 0 or more, not {n}")
    first, last = dob_range(year_group, academic_year)
    days_in_year = (last - first).days + 1
    age_days = rng.integers(0, days_in_year, n)
    dob = (np.datetime64(first, "D") + age_days).astype(object)  # datetime.date objects
    # Relative age effect: autumn-born pupils do a little better than summer-born ones.
    ability = rng.standard_normal(n) + ability_shift + 0.25 * (0.5 - age_days / days_in_year)

    gender = np.where(rng.random(n) < 0.5, "F", "M")
    codes = np.asarray(ETHNICITY_CODES)
    shares = np.array([share for share, _, _ in _ETHNICITY.values()])
    ethnicity_index = rng.choice(len(codes), n, p=shares / shares.sum())
    pools = np.array([pool for _, pool, _ in _ETHNICITY.values()])[ethnicity_index]
    eal_chance = np.array([chance for _, _, chance in _ETHNICITY.values()])[ethnicity_index]

    forename = np.empty(n, dtype=object)
    surname = np.empty(n, dtype=object)
    for pool, (girls, boys, surnames) in _NAMES.items():
        in_pool = pools == pool
        for sex, names in (("F", girls), ("M", boys)):
            rows = in_pool & (gender == sex)
            choices = np.array(names.split(), dtype=object)
            forename[rows] = choices[rng.integers(0, len(choices), rows.sum())]
        # "_" joins the words of a surname that has a space in it (Ó Briain).
        choices = np.array([name.replace("_", " ") for name in surnames.split()], dtype=object)
        surname[in_pool] = choices[rng.integers(0, len(choices), in_pool.sum())]

    # SEN by rank of a need score mostly opposite to ability: 4.5% EHC plans, 13% SEN support.
    need = -0.9 * ability + 0.45 * rng.standard_normal(n) + 0.25 * (gender == "M")
    order = np.argsort(-need, kind="stable")
    sen = np.full(n, "N", dtype=object)
    ehc = round(0.045 * n)
    support = round(0.13 * n)
    sen[order[:ehc]] = "E"
    sen[order[ehc : ehc + support]] = "K"

    fsm = rng.random(n) < np.clip(fsm_rate * np.exp(-0.4 * ability - 0.08), 0, 0.9)
    lac = rng.random(n) < 0.008
    disadvantaged = fsm | lac | (rng.random(n) < 0.06)  # ever-6 FSM who are not FSM now
    eal = rng.random(n) < eal_chance
    talent = ability + 0.3 * rng.standard_normal(n)
    talent[sen == "E"] = -np.inf
    gifted = np.zeros(n, dtype=bool)
    gifted[np.argsort(-talent, kind="stable")[: round(0.05 * n)]] = True

    absence = rng.gamma(1.4, 3.2, n) + np.where(fsm, rng.gamma(1.0, 2.0, n), 0.0)
    attendance = np.round(np.clip(100.0 - absence, 40.0, 100.0), 1)

    upn_year = (academic_year - max(year_group, 0)) % 100
    frame = pd.DataFrame(
        {
            "upn": _text(make_upns(n, la=la, school=school_number, year=upn_year)),
            "pupil_id": _text(
                (pd.Series(rng.permutation(n) + 1 + rng.integers(1000, 5000), dtype="int64"))
                .astype("str")
                .str.zfill(6)
                .to_numpy()
            ),
            "surname": _text(surname),
            "forename": _text(forename),
            "school": _text(np.full(n, school, dtype=object)),
            "year_group": np.full(n, year_group, dtype=np.int64),
            "gender": _text(gender.astype(object)),
            "dob": pd.Series(dob, dtype=object),
            "fsm": fsm,
            "disadvantaged": disadvantaged,
            "sen": _text(sen),
            "eal": eal,
            "lac": lac,
            "ethnicity": _text(codes[ethnicity_index].astype(object)),
            "gifted": gifted,
            "attendance": attendance,
        }
    )
    order = frame.sort_values(["surname", "forename", "upn"], kind="stable").index.to_numpy()
    frame = frame.iloc[order].reset_index(drop=True)
    return frame, ability[order]


def _plan_targets(rng: np.random.Generator, sen: pd.Series, grades: np.ndarray) -> pd.Series:
    """Some EHC-plan pupils have a target written in their plan; the rest must be flagged.

    ``grades`` holds each pupil's plan target if they had one; the first EHC pupil always has
    one and the second never does, so a small demo shows both cases.
    """
    ehc_rows = np.flatnonzero(sen.to_numpy() == "E")
    has_plan = rng.random(len(ehc_rows)) < 0.6
    if len(ehc_rows) >= 2:
        has_plan[:2] = [True, False]
    values = np.full(len(sen), None, dtype=object)
    values[ehc_rows[has_plan]] = grades[ehc_rows[has_plan]]
    return _text(values)


def _check_size(pupils: int) -> None:
    if not isinstance(pupils, (int, np.integer)) or pupils < 0:
        raise ValueError(f"pupils must be a whole number, 0 or more, not {pupils!r}")


# --------------------------------------------------------------------------------------------
# Cohorts
# --------------------------------------------------------------------------------------------


def _primary(
    rng: np.random.Generator,
    pupils: int,
    *,
    school: str,
    la: int,
    school_number: int,
    academic_year: int,
    ability_shift: float = 0.0,
    fsm_rate: float = 0.23,
) -> pd.DataFrame:
    frame, ability = _pupils(
        rng,
        pupils,
        year_group=6,
        school=school,
        la=la,
        school_number=school_number,
        academic_year=academic_year,
        ability_shift=ability_shift,
        fsm_rate=fsm_rate,
    )
    ks1_points: dict[str, np.ndarray] = {}
    # A few pupils were absent for the KS1 assessments (all subjects): about 1 in 70.
    absent = np.zeros(pupils, dtype=bool)
    if pupils >= 30:
        absent[rng.choice(pupils, max(1, round(pupils / 70)), replace=False)] = True
    for subject in SUBJECTS_PRIMARY:
        index = _cut(_subject_score(rng, ability), _KS1_SHARES[subject])
        grades = np.asarray(KS1_GRADES, dtype=object)[index]
        grades[absent] = "A"
        frame[f"{subject}_ks1"] = _text(grades)
        ks1_points[subject] = np.where(absent, 15 + 5 * ability, _KS1_POINTS[index])
    ehc = frame["sen"].to_numpy() == "E"
    spring: dict[str, np.ndarray] = {}
    for subject in SUBJECTS_PRIMARY:
        # Spring 1 of Year 6 is about 3.4 years after KS1: roughly 10 points (a level is 6).
        gain = 10.0 + 2.4 * _subject_score(rng, ability, 0.5) - 3.0 * ehc
        spring[subject] = np.clip(ks1_points[subject] + np.maximum(gain, 0.0), 7, 37)
        frame[f"{subject}_spr1"] = _text(sublevel(spring[subject]))
    # A plan target one to three sub-levels above where the pupil is now.
    plan = sublevel(np.clip(spring["maths"] + 2 * rng.integers(1, 4, pupils), 7, 37))
    frame["maths_plan_target"] = _plan_targets(rng, frame["sen"], plan)
    return frame


def primary_cohort(
    pupils: int = 60,
    *,
    seed: int = 2026,
    school: str = "100001 Oakfield Primary",
    la: int = 801,
    school_number: int = 2001,
    academic_year: int = ACADEMIC_YEAR,
) -> pd.DataFrame:
    """A Year 6 cohort with KS1 levels and spring 1 teacher assessments, for KS1→KS2 targets.

    Columns: the canonical pupil columns, ``reading_ks1``/``writing_ks1``/``maths_ks1`` (``W``,
    ``1c`` … ``2a``, ``3``, a few ``A`` absent), ``reading_spr1``/``writing_spr1``/``maths_spr1``
    (sub-levels) and ``maths_plan_target`` (filled for some EHC-plan pupils only).
    """
    _check_size(pupils)
    return _primary(
        _rng(seed, _SALT_PRIMARY),
        pupils,
        school=school,
        la=la,
        school_number=school_number,
        academic_year=academic_year,
    )


def infant_cohort(
    pupils: int = 60,
    *,
    seed: int = 2026,
    school: str = "100001 Oakfield Primary",
    la: int = 801,
    school_number: int = 2003,
    academic_year: int = ACADEMIC_YEAR,
) -> pd.DataFrame:
    """A Year 2 cohort with EYFS outcomes, for the EYFS→KS1 (``ks1``) policy.

    Columns: the canonical pupil columns, ``reading_eyfs``/``writing_eyfs``/``maths_eyfs``
    (integers 1 emerging, 2 expected, 3 exceeding) and ``<subject>_spr1`` sub-levels.
    """
    _check_size(pupils)
    rng = _rng(seed, _SALT_INFANT)
    frame, ability = _pupils(
        rng,
        pupils,
        year_group=2,
        school=school,
        la=la,
        school_number=school_number,
        academic_year=academic_year,
    )
    for subject in SUBJECTS_PRIMARY:
        frame[f"{subject}_eyfs"] = _cut(_subject_score(rng, ability), _EYFS_SHARES) + 1
    for subject in SUBJECTS_PRIMARY:
        # Spring of Year 2: most pupils between 1a and 2b (11–15 points).
        spring = 13.0 + 3.2 * _subject_score(rng, ability)
        frame[f"{subject}_spr1"] = _text(sublevel(np.clip(spring, 3, 23)))
    return frame


def ks3_cohort(
    pupils: int = 120,
    *,
    seed: int = 2026,
    school: str = "137001 Kingsmead Academy",
    la: int = 801,
    school_number: int = 4001,
    academic_year: int = ACADEMIC_YEAR,
) -> pd.DataFrame:
    """A Year 9 cohort with KS2 levels, for KS2→KS3 (``ks3``) targets.

    Columns: the canonical pupil columns, ``english_ks2``/``maths_ks2``/``science_ks2`` (whole
    levels ``3`` … ``6`` as text) and ``<subject>_spr1`` sub-levels from Year 9 spring 1.
    """
    _check_size(pupils)
    rng = _rng(seed, _SALT_KS3)
    frame, ability = _pupils(
        rng,
        pupils,
        year_group=9,
        school=school,
        la=la,
        school_number=school_number,
        academic_year=academic_year,
    )
    levels = np.array(["3", "4", "5", "6"], dtype=object)
    points: dict[str, np.ndarray] = {}
    for subject, shares in _KS2_LEVEL_SHARES.items():
        index = _cut(_subject_score(rng, ability), shares)
        frame[f"{subject}_ks2"] = _text(levels[index])
        points[subject] = 21.0 + 6.0 * index  # whole levels count their "b" points
    for subject in _KS2_LEVEL_SHARES:
        spring = points[subject] + 6.5 + 2.5 * _subject_score(rng, ability, 0.5)
        frame[f"{subject}_spr1"] = _text(sublevel(np.clip(spring, 15, 47)))
    return frame


def secondary_cohort(
    pupils: int = 120,
    *,
    seed: int = 2026,
    school: str = "137001 Kingsmead Academy",
    la: int = 801,
    school_number: int = 4001,
    academic_year: int = ACADEMIC_YEAR,
) -> pd.DataFrame:
    """A Year 11 cohort with KS2 scaled scores and KS3 levels, for GCSE (``ks4``) targets.

    Columns: the canonical pupil columns, ``english_ks2``/``maths_ks2`` (scaled scores 80–120,
    nullable integers; about 2% missing: pupils who arrived from abroad) and
    ``english_ks3``/``maths_ks3``/``science_ks3`` (sub-levels ``4c`` … ``7a``).
    """
    _check_size(pupils)
    rng = _rng(seed, _SALT_SECONDARY)
    frame, ability = _pupils(
        rng,
        pupils,
        year_group=11,
        school=school,
        la=la,
        school_number=school_number,
        academic_year=academic_year,
    )
    no_ks2 = rng.random(pupils) < 0.02
    scores: dict[str, np.ndarray] = {}
    for subject, mean in (("english", 105.0), ("maths", 104.0)):
        score = np.clip(np.round(mean + 6.5 * _subject_score(rng, ability)), 80, 120)
        scores[subject] = score
        frame[f"{subject}_ks2"] = pd.Series(score.astype(np.int64), dtype="Int64").mask(no_ks2)
    average = (scores["english"] + scores["maths"]) / 2
    for subject in ("english", "maths", "science"):
        points = 33.0 + 0.75 * (average - 104.5) + 2.5 * _subject_score(rng, ability, 0.5)
        frame[f"{subject}_ks3"] = _text(sublevel(np.clip(points, 25, 47)))
    return frame


# --------------------------------------------------------------------------------------------
# Steps tracking
# --------------------------------------------------------------------------------------------


def steps_tracking(
    pupils: int = 60,
    year_group: int = 4,
    *,
    drops: int = 6,
    seed: int = 2026,
    school: str = "100001 Oakfield Primary",
    la: int = 801,
    school_number: int = 2002,
    academic_year: int = ACADEMIC_YEAR,
) -> pd.DataFrame:
    """An in-year steps tracking sheet for one year group (2–6), as a school's tracker exports it.

    Columns: the canonical pupil columns; the baseline ``<subject>_sum2_<academic_year>`` (last
    summer's step, e.g. ``3s``; the expectation for the end of Year n-1 is ``(n-1)s``); the six
    drops ``<subject>_aut1`` … ``<subject>_sum2`` for reading, writing and maths, of which the
    first ``drops`` have data and the rest are empty; ``maths_plan_target`` for some EHC pupils.

    Most pupils move one step per half term. Planted on purpose, so reports have something to
    find: about 5% of pupils stalled (no change over the last two drops) in one subject, two
    pupils who regressed (latest drop one step below the one before), pupils below the
    expectation (some catching up two steps in a half term) and more-able pupils at ``s+``.
    """
    _check_size(pupils)
    if not 2 <= year_group <= 6:
        raise ValueError(f"steps tracking is for Years 2 to 6, not Year {year_group}")
    if not 0 <= drops <= len(TRACKING_POINTS):
        raise ValueError(f"drops must be 0 to {len(TRACKING_POINTS)}, not {drops}")
    rng = _rng(seed, _SALT_STEPS, year_group)
    frame, ability = _pupils(
        rng,
        pupils,
        year_group=year_group,
        school=school,
        la=la,
        school_number=school_number,
        academic_year=academic_year,
    )
    expected_last_summer = 6 * (year_group - 2) + 5  # (n-1)s
    top = 6 * year_group  # ns+: nobody is tracked beyond their own year band
    # Offset from the expectation: 16% at s+, 52% at s, then w+, w, b+ and a long tail of pupils
    # (mostly SEN) one or more years behind.
    offsets = np.array([-9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1])
    offset_shares = (0.012, 0.012, 0.012, 0.015, 0.017, 0.022, 0.04, 0.07, 0.12, 0.52, 0.16)

    baseline: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    for subject in SUBJECTS_PRIMARY:
        start = offsets[_cut(_subject_score(rng, ability), offset_shares)]
        base = np.clip(expected_last_summer + start, 1, top - 6)
        behind = base < expected_last_summer
        able = base == top - 6
        step = np.ones((pupils, drops), dtype=np.int64)
        roll = rng.random((pupils, drops))
        step[roll < 0.08] = 0
        catch_up = behind[:, None] & (roll > 1 - 0.15)
        step[catch_up] = 2
        step[able] = 1  # more-able pupils move steadily along s+ of each band
        baseline[subject] = base
        values[subject] = base[:, None] + np.cumsum(step, axis=1)

    for subject in SUBJECTS_PRIMARY:
        np.clip(values[subject], 1, top, out=values[subject])
    if drops and pupils >= 3:
        chosen = rng.permutation(pupils)
        stalled_count = max(1, round(0.05 * pupils))
        stalled = chosen[:stalled_count]
        stalled_subject = rng.integers(0, len(SUBJECTS_PRIMARY), stalled_count)
        for index, subject in enumerate(SUBJECTS_PRIMARY):
            rows = stalled[stalled_subject == index]
            track = values[subject]
            before = drops - 3  # the drop two before the latest (-1: the baseline)
            anchor = track[rows, before] if before >= 0 else baseline[subject][rows]
            track[rows, max(before + 1, 0) :] = anchor[:, None]
        # Two pupils (not stalled ones) whose latest drop is a step below the one before.
        rest = chosen[stalled_count:]
        rest_subject = rng.integers(0, len(SUBJECTS_PRIMARY), len(rest))
        previous = np.stack(
            [
                values[subject][:, drops - 2] if drops >= 2 else baseline[subject]
                for subject in SUBJECTS_PRIMARY
            ]
        )
        can_regress = previous[rest_subject, rest] > 1
        regressed_count = 2 if pupils >= 10 else 1
        for row, index in list(zip(rest[can_regress], rest_subject[can_regress], strict=True))[
            :regressed_count
        ]:
            values[SUBJECTS_PRIMARY[index]][row, drops - 1] = previous[index, row] - 1

    year = str(academic_year)
    for subject in SUBJECTS_PRIMARY:
        frame[f"{subject}_sum2_{year}"] = _text(step_grade(baseline[subject]))
    for subject in SUBJECTS_PRIMARY:
        track = values[subject]
        for index, point in enumerate(TRACKING_POINTS):
            if index < drops:
                frame[f"{subject}_{point}"] = _text(step_grade(track[:, index]))
            else:
                frame[f"{subject}_{point}"] = _empty_text(pupils)
    plan = np.minimum(baseline["maths"] + rng.integers(3, 6, pupils), top)
    frame["maths_plan_target"] = _plan_targets(rng, frame["sen"], step_grade(plan))
    return frame


# --------------------------------------------------------------------------------------------
# A local authority's batch and a messy MIS export
# --------------------------------------------------------------------------------------------


def _school_names(count: int) -> list[str]:
    """Distinct, fictional school names: the curated five, then place × kind combinations."""
    base = list(_SCHOOLS_CURATED)
    base += [f"{place} {kind}" for kind in _SCHOOL_KINDS for place in _SCHOOL_PLACES]
    names = list(base)
    copy = 2
    while len(names) < count:
        names += [f"{name} {copy}" for name in base]
        copy += 1
    return names[:count]


def la_submissions(
    schools: int = 5,
    pupils_per_school: int = 30,
    *,
    seed: int = 2026,
    la: int = 801,
    academic_year: int = ACADEMIC_YEAR,
) -> dict[str, pd.DataFrame]:
    """Year 6 cohorts from several schools of one local authority, for ``check-ambition``.

    Keyed by ``"<URN> <school name>"`` (e.g. ``"100001 Oakfield Primary"``), which is also each
    frame's ``school`` value. Schools differ in intake (ability and FSM rate), and UPNs are
    unique across the whole batch. No targets: run ``set-targets`` on each.
    """
    _check_size(pupils_per_school)
    if schools < 0:
        raise ValueError(f"schools must be 0 or more, not {schools}")
    intake = _rng(seed, _SALT_LA)
    shifts = intake.normal(0.0, 0.3, schools)
    fsm_rates = intake.uniform(0.08, 0.45, schools)
    block = pupils_per_school // 1000 + 1  # school numbers each school's UPNs may use
    if 2101 + schools * block > 9999:
        raise ValueError("too many pupils in this batch to give every pupil a distinct UPN")
    batch: dict[str, pd.DataFrame] = {}
    for index, name in enumerate(_school_names(schools)):
        key = f"{100001 + index} {name}"
        batch[key] = _primary(
            _rng(seed, _SALT_LA, index),
            pupils_per_school,
            school=key,
            la=la,
            school_number=2101 + index * block,
            academic_year=academic_year,
            ability_shift=float(shifts[index]),
            fsm_rate=float(fsm_rates[index]),
        )
    return batch


MESSY_COLUMNS: Final = {
    "pupil_id": "Adno",
    "upn": "UPN",
    "surname": "Legal Surname",
    "forename": "Legal Forename",
    "year_group": "NC Year",
    "gender": "Gender",
    "dob": "DOB",
    "fsm": "FSM Eligible",
    "sen": "SEN Provision",
    "eal": "First Language",
    "lac": "In Care",
    "ethnicity": "Ethnicity",
    "reading_ks1": "Reading KS1",
    "writing_ks1": "Writing KS1",
    "maths_ks1": "Maths KS1",
}
"""Canonical column → the SIMS-style header the messy export uses for it."""


def _sloppy_grades(rng: np.random.Generator, grades: pd.Series) -> pd.Series:
    """Spell grades the ways teachers type them: ``2B``, ``L2b``, ``Level 3``, ``2 c``."""
    text = grades.to_numpy(dtype=object)
    numeric = grades.str.match(r"^\d").fillna(False).to_numpy(dtype=bool)
    sub = numeric & (grades.str.len().fillna(0).to_numpy() == 2)
    style = rng.choice(5, len(text), p=[0.45, 0.2, 0.15, 0.1, 0.1])
    out = text.copy()
    upper = style == 1
    out[upper] = grades[upper].str.upper().to_numpy(dtype=object)
    prefix_l = (style == 2) & numeric
    out[prefix_l] = "L" + text[prefix_l]
    prefix_level = (style == 3) & numeric
    out[prefix_level] = "Level " + text[prefix_level]
    spaced = (style == 4) & sub
    out[spaced] = (grades[spaced].str[0] + " " + grades[spaced].str[1]).to_numpy(dtype=object)
    return _text(out)


def messy_mis_export(
    pupils: int = 40,
    *,
    seed: int = 2026,
    academic_year: int = ACADEMIC_YEAR,
) -> tuple[pd.DataFrame, list[str]]:
    """A SIMS-style "Pupil Details" export of a Year 6 class, with the problems real ones have.

    Returns the table (every value as text, headers as in ``MESSY_COLUMNS``) and the report
    title rows that sit above the header in the file. Deliberately messy: "Year 6"/"Y6"/"6",
    dd/mm/yyyy dates, Y/N and Yes/No flags, old SEN codes A/P/S beside N/K/E, first language
    ENG/OTH/NOT, grades spelt ``2B``/``L2b``/``Level 3``/``2 c``. Planted problems, one each:
    a duplicate UPN, a wrong check letter, a missing UPN, the surname ``=1+1`` and the unknown
    grade ``2d`` (in Reading KS1).
    """
    _check_size(pupils)
    if pupils < 6:
        raise ValueError("the messy export needs at least 6 pupils to plant its problems")
    rng = _rng(seed, _SALT_MESSY)
    cohort = _primary(
        rng,
        pupils,
        school="100001 Oakfield Primary",
        la=801,
        school_number=3001,
        academic_year=academic_year,
    )
    n = pupils
    year = np.select(
        [rng.random(n) < 0.6, rng.random(n) < 0.6], ["Year 6", "Y6"], default="6"
    ).astype(object)
    sen = cohort["sen"].to_numpy(dtype=object).copy()
    old = rng.random(n) < 0.4
    sen[old & (sen == "K")] = np.where(rng.random(n) < 0.5, "A", "P")[old & (sen == "K")]
    sen[old & (sen == "E")] = "S"
    language = np.where(cohort["eal"].to_numpy(), "OTH", "ENG").astype(object)
    language[rng.random(n) < 0.05] = "NOT"
    dob = pd.to_datetime(pd.Series(cohort["dob"].to_numpy(), dtype=object)).dt.strftime("%d/%m/%Y")

    export = pd.DataFrame(
        {
            "Adno": cohort["pupil_id"],
            "UPN": cohort["upn"],
            "Legal Surname": cohort["surname"],
            "Legal Forename": cohort["forename"],
            "NC Year": _text(year),
            "Gender": cohort["gender"],
            "DOB": _text(dob.to_numpy(dtype=object)),
            "FSM Eligible": _text(np.where(cohort["fsm"].to_numpy(), "Y", "N").astype(object)),
            "SEN Provision": _text(sen),
            "First Language": _text(language),
            "In Care": _text(np.where(cohort["lac"].to_numpy(), "Yes", "No").astype(object)),
            "Ethnicity": cohort["ethnicity"],
            "Reading KS1": _sloppy_grades(rng, cohort["reading_ks1"]),
            "Writing KS1": _sloppy_grades(rng, cohort["writing_ks1"]),
            "Maths KS1": _sloppy_grades(rng, cohort["maths_ks1"]),
        }
    )

    first, second, wrong, missing, formula, unknown = rng.choice(n, 6, replace=False)
    export.loc[second, "UPN"] = export.loc[first, "UPN"]
    good = export.loc[wrong, "UPN"]
    export.loc[wrong, "UPN"] = ALPHABET[(ALPHABET.index(good[0]) + 1) % len(ALPHABET)] + good[1:]
    export.loc[missing, "UPN"] = None
    export.loc[formula, "Legal Surname"] = "=1+1"
    export.loc[unknown, "Reading KS1"] = "2d"
    titles = ["Pupil Details Report", f"Generated 12/09/{academic_year}"]
    return export, titles
