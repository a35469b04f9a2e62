"""The seeded generator behind the shipped LOC corpus (``autodiffx/ner/data/``).

The corpus was written for autodiffx: the place names are real, the sentence frames,
people and organisations are invented here. Run ``python -m autodiffx.ner.make_corpus``
to rewrite ``train.txt`` and ``test.txt``; with the default seed the output is identical
to the committed files (a test checks this), so the split never drifts.

Design choices that make the task worth learning:

* many sentence frames (123, and 20 more used only in the test split);
* about 300 place names; a quarter of each kind is kept out of the training split, and the
  test split draws on those first, so it names 39 places the training split never
  mentions: the model meets unknown words and must rely on context;
* people and organisations are tagged ``O``, and some of them contain place-like words
  ("Florence Adeyemi", "Real Madrid", "the Boston Herald"), as do demonyms ("French");
* multi-word names are tagged token by token ("Rio/LOC de/LOC Janeiro/LOC"); a leading
  article is tagged ``O`` as in CoNLL-2003 ("the/O Alps/LOC", "the/O Netherlands/LOC").

>>> train, test = generate(seed=0)
>>> len(train), len(test)
(400, 100)
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

SEED = 2021
TRAIN_SIZE = 400
TEST_SIZE = 100
HELD_OUT_FRACTION = 0.25


@dataclass(frozen=True)
class Place:
    """A place name: its words, and whether English puts "the" in front of it."""

    words: tuple[str, ...]
    article: bool = False


def _places(text: str, article: bool = False) -> list[Place]:
    return [Place(tuple(name.split()), article) for name in text.split(";") if name.strip()]


CITIES = _places(
    "Paris; London; Berlin; Madrid; Rome; Lisbon; Vienna; Prague; Budapest; Warsaw; Dublin;"
    "Oslo; Stockholm; Helsinki; Copenhagen; Amsterdam; Brussels; Athens; Istanbul; Cairo;"
    "Nairobi; Lagos; Accra; Dakar; Tunis; Casablanca; Johannesburg; Mumbai; Karachi; Dhaka;"
    "Bangkok; Hanoi; Jakarta; Manila; Seoul; Tokyo; Osaka; Beijing; Shanghai; Singapore;"
    "Melbourne; Auckland; Toronto; Montreal; Vancouver; Chicago; Seattle; Denver; Miami;"
    "Atlanta; Lima; Bogota; Quito; Santiago; Caracas; Havana; Tehran; Baghdad; Riyadh; Doha;"
    "Dubai; Kabul; Tashkent; Almaty; Kyiv; Minsk; Riga; Vilnius; Tallinn; Zagreb; Belgrade;"
    "Sofia; Bucharest; Krakow; Munich; Hamburg; Milan; Naples; Venice; Barcelona; Seville;"
    "Valencia; Porto; Lyon; Marseille; Geneva; Zurich; Edinburgh; Glasgow; Manchester;"
    "Liverpool; Cardiff; Belfast; Ankara; Canberra; Ottawa; Wellington; Kampala; Harare;"
    "New York; Los Angeles; San Francisco; Rio de Janeiro; Buenos Aires; Mexico City;"
    "Hong Kong; Kuala Lumpur; Cape Town; Tel Aviv; New Delhi; Abu Dhabi; Sao Paulo;"
    "Las Vegas; New Orleans; Salt Lake City; St Petersburg; Ho Chi Minh City; Addis Ababa;"
    "Dar es Salaam; Santo Domingo; San Diego; Panama City; Guatemala City; La Paz;"
    "Phnom Penh; Kuala Terengganu; Port Moresby"
)
COUNTRIES = _places(
    "France; Germany; Spain; Italy; Portugal; Poland; Greece; Turkey; Egypt; Kenya; Nigeria;"
    "Ghana; Senegal; Morocco; Ethiopia; India; Pakistan; China; Japan; Vietnam; Thailand;"
    "Indonesia; Brazil; Argentina; Chile; Peru; Colombia; Mexico; Canada; Australia; Norway;"
    "Sweden; Finland; Iceland; Ireland; Scotland; Wales; Ukraine; Iran; Mongolia; Nepal;"
    "Bhutan; Cuba; Jamaica; Uganda; Zimbabwe; Austria; Hungary; Romania; Croatia; Serbia;"
    "Bulgaria; Estonia; Latvia; Lithuania; Uzbekistan; Kazakhstan; Cambodia; Bolivia;"
    "Ecuador; Venezuela; Uruguay; Paraguay; Tanzania; Rwanda; Namibia; Botswana;"
    "South Africa; New Zealand; Sri Lanka; Costa Rica; Saudi Arabia; South Korea;"
    "North Macedonia; Sierra Leone; El Salvador; Papua New Guinea; Burkina Faso"
) + _places(
    "United States; United Kingdom; Czech Republic; Netherlands; Philippines;"
    "Dominican Republic; United Arab Emirates",
    article=True,
)
REGIONS = _places(
    "Siberia; Patagonia; Tuscany; Bavaria; Catalonia; Sicily; Sardinia; Crete; Bali;"
    "Tasmania; Alaska; Texas; California; Florida; Ontario; Quebec; Provence; Andalusia;"
    "Normandy; Brittany; Kashmir; Tibet; Anatolia; Galicia; Yorkshire; Cornwall; Scandinavia;"
    "Lapland; Borneo; Sumatra; Java; Madagascar; Zanzibar; Hokkaido; Okinawa; Greenland;"
    "Mount Everest; Mount Kilimanjaro; Death Valley; Lake Geneva; Lake Victoria; Lake Baikal;"
    "Loire Valley; Black Forest; Sierra Nevada; Rift Valley; Dead Sea; Lake Titicaca;"
    "Mont Blanc; Table Mountain; Monument Valley; Lake Como; Costa Brava; Cote d'Azur;"
    "New England; Inner Mongolia; Tierra del Fuego"
) + _places(
    "Alps; Andes; Himalayas; Pyrenees; Sahara; Amazon; Nile; Danube; Rhine; Thames; Urals;"
    "Balkans; Caribbean; Mediterranean; Atlas Mountains; Rocky Mountains; Gobi Desert;"
    "Scottish Highlands; Grand Canyon; Yellow River; Red Sea; Black Sea; Persian Gulf;"
    "Mekong Delta; Great Lakes; Outer Hebrides; Canary Islands; Faroe Islands; Dolomites;"
    "Carpathians; Ardennes; Everglades; Serengeti",
    article=True,
)
CAPITALS = [
    ("Paris", "France"), ("Berlin", "Germany"), ("Madrid", "Spain"), ("Rome", "Italy"),
    ("Lisbon", "Portugal"), ("Warsaw", "Poland"), ("Athens", "Greece"), ("Ankara", "Turkey"),
    ("Cairo", "Egypt"), ("Nairobi", "Kenya"), ("Accra", "Ghana"), ("Dakar", "Senegal"),
    ("Addis Ababa", "Ethiopia"), ("New Delhi", "India"), ("Tokyo", "Japan"),
    ("Hanoi", "Vietnam"), ("Bangkok", "Thailand"), ("Jakarta", "Indonesia"),
    ("Buenos Aires", "Argentina"), ("Santiago", "Chile"), ("Lima", "Peru"),
    ("Bogota", "Colombia"), ("Mexico City", "Mexico"), ("Ottawa", "Canada"),
    ("Canberra", "Australia"), ("Oslo", "Norway"), ("Stockholm", "Sweden"),
    ("Helsinki", "Finland"), ("Dublin", "Ireland"), ("Edinburgh", "Scotland"),
    ("Cardiff", "Wales"), ("Kyiv", "Ukraine"), ("Tehran", "Iran"), ("Havana", "Cuba"),
    ("Kampala", "Uganda"), ("Harare", "Zimbabwe"), ("Vienna", "Austria"),
    ("Budapest", "Hungary"), ("Bucharest", "Romania"), ("Zagreb", "Croatia"),
    ("Belgrade", "Serbia"), ("Sofia", "Bulgaria"), ("Tallinn", "Estonia"), ("Riga", "Latvia"),
    ("Vilnius", "Lithuania"), ("Tashkent", "Uzbekistan"), ("Phnom Penh", "Cambodia"),
    ("La Paz", "Bolivia"), ("Quito", "Ecuador"), ("Caracas", "Venezuela"),
    ("Wellington", "New Zealand"), ("Seoul", "South Korea"), ("Riyadh", "Saudi Arabia"),
    ("Prague", "Czech Republic"), ("Amsterdam", "Netherlands"), ("Manila", "Philippines"),
    ("Santo Domingo", "Dominican Republic"), ("Abu Dhabi", "United Arab Emirates"),
    ("London", "United Kingdom"), ("Port Moresby", "Papua New Guinea"),
    ("Copenhagen", "Denmark"), ("Brussels", "Belgium"), ("Doha", "Qatar"),
]

FIRST_NAMES = (
    "Anna Omar Lucia Kenji Priya Tomas Amara Felix Ines Rafael Mei Jonas Zainab Diego Hana "
    "Nikolai Elena Kwame Sofia Arjun Leila Mateo Yuki Olga Samuel Chloe Ibrahim Nadia Pablo "
    "Grace Viktor Aisha Henrik Lena Tariq Rosa Emeka Clara Dmitri Fatima Oscar Ngozi Ruth "
    "Marcus Ellen Tom Ada Bruno Wanjiru Farid Iris"
).split()
# First names and surnames that are also place names: the person is tagged O.
PLACE_LIKE_FIRST = "Florence Sydney Georgia Austin Jordan Victoria Paris Chelsea Dallas Kenya"
PLACE_LIKE_LAST = "Houston London Berlin Lincoln Washington Denver Orlando Adelaide"
SURNAMES = (
    "Okafor Lindqvist Moreau Tanaka Reyes Novak Mensah Haddad Costa Petrova Chen Adeyemi "
    "Schmidt Kowalski Silva Nakamura Dubois Rahman Ferreira Ivanova Park Mwangi Larsen Rossi "
    "Kaur Nguyen Santos Fischer Yilmaz Hughes Bakker Okoro Delgado Sato Andersen Murphy "
    "Castillo Kim Abebe Horvat"
).split()

ORGANISATIONS = [
    "Meridian Bank", "Orbital Systems", "Greenleaf Foods", "Harbor Capital", "Kestrel Labs",
    "Sunline Energy", "Bluebird Airlines", "Northwind Logistics", "Atlas Insurance",
    "Cobalt Motors", "Lumen Health", "Quarry Media", "Silverline Rail", "Tidewater Shipping",
    "Vantage Pharma", "Juniper Software", "Helix Biotech", "Summit Partners",
    "the Red Cross", "the World Bank", "the United Nations", "the European Commission",
    "Real Madrid", "Manchester United", "the Boston Herald", "the Chicago Symphony",
    "Air Canada", "Bank of Lisbon", "the Sydney Opera Company", "Paris Saint Germain",
]
DEMONYMS = (
    "French German Spanish Italian Japanese Chinese Brazilian Mexican Canadian Kenyan "
    "Nigerian Indian Turkish Greek Polish Swedish Irish Scottish Peruvian Thai"
).split()
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = (
    "January February March April May June July August September October November December"
).split()
YEARS = [str(year) for year in range(1960, 2024, 3)]
NUMBERS = "two three four five six ten twelve twenty forty hundreds thousands".split()
THINGS = (
    "coffee|tea|cotton|steel|wine|olive oil|software|textiles|rice|copper|flowers|timber|"
    "fish|spices|machinery|cocoa"
).split("|")
JOBS = (
    "engineer|nurse|teacher|journalist|architect|chef|pilot|lawyer|photographer|"
    "translator|geologist|diplomat|programmer|doctor"
).split("|")
EVENTS = (
    "conference|festival|summit|marathon|exhibition|trade fair|film festival|concert|"
    "election|strike|workshop|match"
).split("|")
TOPICS = (
    "climate policy|urban planning|rare birds|street food|jazz|trade|public health|"
    "ancient history|railways|football|architecture|poetry"
).split("|")

# Frame slots: {L} any place, {C} city, {N} country, {R} region or landmark, {K} and {KC}
# a capital and its country, {P} person, {G} organisation, {D} demonym, {DAY}, {MONTH},
# {YEAR}, {NUM}, {THING}, {JOB}, {EVENT}, {TOPIC}. A digit suffix ({C2}) asks for another
# value of the same kind.
FRAMES = [
    "The museums in {C} are amazing to see .",
    "{P} moved to {C} in {YEAR} .",
    "{P} flew from {C} to {C2} on {DAY} .",
    "{K} is the capital of {KC} .",
    "The capital of {KC} is {K} .",
    "{P} was born in {L} and grew up in {L2} .",
    "We spent two weeks hiking in {R} last {MONTH} .",
    "Prices of {THING} rose sharply in {N} this year .",
    "{G} opened a new office in {C} .",
    "{G} announced record profits on {DAY} .",
    "The {EVENT} in {C} attracted {NUM} thousand visitors .",
    "{P} works as a {JOB} for {G} .",
    "Heavy rain caused flooding across {R} .",
    "The train from {C} arrives at noon .",
    "Is it true that {P} is leaving {G} ?",
    "{P} said the talks in {C} went well .",
    "Most of the {THING} sold here comes from {N} .",
    "My sister lives near {C} with her husband .",
    "The flight to {L} was delayed by {NUM} hours .",
    "{P} and {P2} met for lunch on {DAY} .",
    "{N} and {N2} signed a trade agreement in {MONTH} .",
    "{P} is a {D} {JOB} who lives in {C} .",
    "I have never been to {L} , but I would love to go .",
    "Tourists flock to {R} every summer .",
    "The {D} ambassador arrived in {C} yesterday .",
    "{G} hired {P} as its new chief executive .",
    "After the storm , roads around {C} were closed .",
    "{P} wrote a book about {TOPIC} .",
    "Snow fell on {R} earlier than usual .",
    "The river flows through {L} before reaching the sea .",
    "{C} has one of the oldest universities in {N} .",
    "Our team will play against {G} on {DAY} .",
    "{P} thanked {P2} for the help .",
    "Exports from {N} to {N2} doubled in {YEAR} .",
    "She took a bus from {C} to a small village near {C2} .",
    "The {EVENT} was moved from {C} to {C2} .",
    "{P} teaches {TOPIC} at a college in {C} .",
    "Do you know anyone who has climbed in {R} ?",
    "The weather in {L} is mild in {MONTH} .",
    "A new bridge links {C} with the airport .",
    "{G} sponsors the {EVENT} every year .",
    "{P} lost the election by {NUM} votes .",
    "Fishermen in {L} report smaller catches .",
    "The report on {TOPIC} was written by {P} .",
    "Thousands marched through {C} on {DAY} .",
    "He returned to {N} after {NUM} years abroad .",
    "The company moved its headquarters out of {C} .",
    "{P} interviewed {P2} about {TOPIC} .",
    "We drove across {N} in an old van .",
    "The border between {N} and {N2} reopened in {MONTH} .",
    "{P} still talks about the winter spent in {R} .",
    "Rents in {C} are higher than in {C2} .",
    "{G} and {G2} agreed to merge .",
    "The night train to {C} was fully booked .",
    "Wildfires spread quickly in {R} .",
    "{P} joined {G} in {YEAR} .",
    "Scientists in {C} found a new species of frog .",
    "Her parents emigrated from {N} to {N2} .",
    "The {D} team beat {G} on {DAY} .",
    "Every morning {P} reads the news from {L} .",
    "Our cousins from {C} visited in {MONTH} .",
    "{P} bought a small house outside {C} .",
    "The road to {R} is closed in winter .",
    "Is {C} far from {C2} ?",
    "The mayor of {C} met {P} on {DAY} .",
    "A strong earthquake hit {L} early on {DAY} .",
    "{P} studied {TOPIC} in {C} for {NUM} years .",
    "They sailed along the coast of {N} .",
    "{G} blamed the delay on a strike .",
    "The cheapest {THING} in the market came from {L} .",
    "{P} called {P2} from a hotel in {C} .",
    "Few people live in {R} all year round .",
    "The best {THING} , some say , is grown in {N} .",
    "In {YEAR} , {P} founded {G} .",
    "In {MONTH} the {EVENT} returns to {C} .",
    "From {C} it takes an hour to reach {C2} by car .",
    "To get to {R} you need a good map .",
    "Police in {C} arrested {NUM} people after the match .",
    "{P} plays the violin with {G} .",
    "Nobody at {G} expected {P} to resign .",
    "The photographs of {R} won a prize .",
    "{P} grew up on a farm in {N} .",
    "Flights between {C} and {C2} resume on {DAY} .",
    "The {D} chef opened a restaurant in {C} .",
    "Life in {C} is very different from life in {L} .",
    "{P} has worked for {G} since {YEAR} .",
    "Which is bigger , {C} or {C2} ?",
    "Many {D} students go abroad to study .",
    "{P} won a medal at the games in {C} .",
    "The documentary follows a family in {L} .",
    "Representatives of {G} will visit {N} next week .",
    "Ask {P} about the trip to {R} .",
    "Coffee from {N} is sold all over {L} .",
    "Few tourists ever see the north of {N} .",
    "{P} is the new coach of {G} .",
    "The {EVENT} will take place in {C} in {MONTH} .",
    "We watched the sun set over {R} .",
    "The old fort overlooks {C} and the bay .",
    "{P} left {G} to start a business .",
    "Both {P} and {P2} were born in {YEAR} .",
    "Our office in {C} closes early on {DAY} .",
    "Farmers in {N} fear another drought .",
    "A ferry runs daily between {C} and {L} .",
    "{P} , a {JOB} from {C} , won the award .",
    "{G} is based in {C} , not in {C2} .",
    "The first snow in {R} came in {MONTH} .",
    "The {D} writer {P} gave a talk on {TOPIC} .",
    "Trade between {N} and {L} grew in {YEAR} .",
    "{P} spent the holidays with {P2} .",
    "Water levels in {R} fell again this summer .",
    "Delegates from {N} arrived in {C} for the {EVENT} .",
    "The shortest route to {C} goes through {L} .",
    "{P} sent a postcard from {R} .",
    "{G} denied the reports on {DAY} .",
    "Many people in {C} cycle to work .",
    "Is the {EVENT} in {C} this year ?",
    "At the {EVENT} , {P} spoke about {TOPIC} .",
    "They are building a new stadium near {C} .",
    "{P} asked {P2} to join {G} .",
    "The {D} government ordered {NUM} new trains .",
    "Across {N} , schools closed for the holiday .",
    "Visitors to {R} should bring warm clothes .",
    "{P} moved back home after a year in {L} .",
]
# Frames that occur only in the test split: contexts the model has never seen.
TEST_FRAMES = [
    "Last year {P} travelled through {N} by bicycle .",
    "The hottest day on record in {C} was in {MONTH} .",
    "{P} ran a small bakery in {C} for years .",
    "Our guide grew up at the foot of {R} .",
    "The delegation from {G} landed in {C} late at night .",
    "{P} dreams of retiring to {L} .",
    "Maps of {R} from {YEAR} are rare .",
    "A direct line now connects {C} and {C2} .",
    "{P} praised {G} for its work in {N} .",
    "The quiet streets of {C} surprised {P} .",
    "Nobody expected {N} to win the {EVENT} .",
    "Sales of {THING} from {N} fell after {MONTH} .",
    "{P} lectured on {TOPIC} to students from {L} .",
    "Beyond {C} the road climbs into {R} .",
    "The orchestra of {G} toured {N} in {YEAR} .",
    "{P} phoned home from {C} every {DAY} .",
    "Rain is rare in {R} .",
    "{G} cut {NUM} jobs on {DAY} .",
    "They exchanged letters between {C} and {L} for decades .",
    "{P} lost her passport somewhere in {N} .",
]


def _split(items: list, rng: random.Random) -> tuple[list, list]:
    """Hold out a fixed fraction of ``items`` for the test split only."""
    shuffled = list(items)
    rng.shuffle(shuffled)
    cut = max(1, round(len(shuffled) * HELD_OUT_FRACTION))
    return shuffled[cut:], shuffled[:cut]


class _Filler:
    """Fills frame slots with tagged tokens, drawing places from one pool."""

    def __init__(self, rng: random.Random, pools: dict[str, list[Place]], capitals: list):
        self.rng = rng
        self.pools = pools
        self.capitals = capitals
        self.decks: dict[str, list[Place]] = {}

    def place(self, kind: str, used: set) -> list[tuple[str, str]]:
        # Places are dealt from a shuffled deck, reshuffled when empty, so every name in
        # the pool is used before any is used again.
        deck = self.decks.setdefault(kind, [])
        for _ in range(len(self.pools[kind]) + 1):
            if not deck:
                deck.extend(self.pools[kind])
                self.rng.shuffle(deck)
            place = deck.pop()
            if place.words not in used:
                break
        used.add(place.words)
        tokens = [("the", "O")] if place.article else []
        return tokens + [(word, "LOC") for word in place.words]

    def person(self) -> list[tuple[str, str]]:
        first = self.rng.choice(FIRST_NAMES)
        last = self.rng.choice(SURNAMES)
        roll = self.rng.random()
        if roll < 0.15:
            first = self.rng.choice(PLACE_LIKE_FIRST.split())
        elif roll < 0.25:
            last = self.rng.choice(PLACE_LIKE_LAST.split())
        return [(first, "O"), (last, "O")]

    def words(self, text: str) -> list[tuple[str, str]]:
        return [(word, "O") for word in text.split()]

    def fill(self, frame: str) -> list[tuple[str, str]]:
        used: set = set()
        tokens: list[tuple[str, str]] = []
        capital = self.rng.choice(self.capitals)
        for piece in frame.split():
            match = re.fullmatch(r"\{([A-Z]+)\d?\}", piece)
            if match is None:
                tokens.append((piece, "O"))
                continue
            slot = match.group(1)
            if slot in ("L", "C", "N", "R"):
                kind = self.rng.choice("CCNR") if slot == "L" else slot
                tokens += self.place(kind, used)
            elif slot == "K":
                tokens += [(word, "LOC") for word in capital[0].split()]
            elif slot == "KC":
                country = capital[1]
                if any(country == " ".join(p.words) and p.article for p in COUNTRIES):
                    tokens.append(("the", "O"))
                tokens += [(word, "LOC") for word in country.split()]
            elif slot == "P":
                tokens += self.person()
            elif slot == "G":
                tokens += self.words(self.rng.choice(ORGANISATIONS))
            else:
                choices = {
                    "D": DEMONYMS, "DAY": DAYS, "MONTH": MONTHS, "YEAR": YEARS,
                    "NUM": NUMBERS, "THING": THINGS, "JOB": JOBS, "EVENT": EVENTS,
                    "TOPIC": TOPICS,
                }[slot]
                tokens += self.words(self.rng.choice(choices))
        if tokens[0][0] == "the":
            tokens[0] = ("The", tokens[0][1])
        return tokens


def generate(seed: int = SEED) -> tuple[list[str], list[str]]:
    """The train and test sentences, each a line of ``token/TAG`` pairs."""
    rng = random.Random(seed)
    kinds = {"C": CITIES, "N": COUNTRIES, "R": REGIONS}
    train_pools, test_only = {}, {}
    for kind, places in kinds.items():
        train_pools[kind], test_only[kind] = _split(places, rng)
    held_out = {p.words for pool in test_only.values() for p in pool}
    train_capitals = [
        pair for pair in CAPITALS
        if tuple(pair[0].split()) not in held_out and tuple(pair[1].split()) not in held_out
    ]
    test_pools = {kind: test_only[kind] * 3 + train_pools[kind] for kind in kinds}

    train_filler = _Filler(rng, train_pools, train_capitals)
    test_filler = _Filler(rng, test_pools, CAPITALS)
    train = _sentences(train_filler, FRAMES, TRAIN_SIZE, set())
    test = _sentences(test_filler, FRAMES + TEST_FRAMES * 2, TEST_SIZE, set(train))
    return train, test


def _sentences(filler: _Filler, frames: list[str], count: int, seen: set) -> list[str]:
    lines: list[str] = []
    while len(lines) < count:
        line = " ".join(f"{word}/{tag}" for word, tag in filler.fill(filler.rng.choice(frames)))
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


def write(directory: Path, seed: int = SEED) -> None:
    """Write ``train.txt`` and ``test.txt`` into ``directory``."""
    train, test = generate(seed)
    for name, lines in (("train.txt", train), ("test.txt", test)):
        (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write(Path(__file__).parent / "data")
