"""The safety guardrails' rules: which messages are emergencies, self-harm, questions about
the person's own trial treatment or requests for medical advice, whatever a model says.

The classifier learns safety intents from examples, but a statistical model can still send
"can I take ibuprofen with my study drug?" to an FAQ. These patterns are the floor under it:
when one matches, its intent replaces whatever the classifier said. Order is priority —
self-harm, then emergencies, then the person's own trial treatment, then requests for
medical advice.

Some words are emergencies when they happen to someone ("my son is having an allergic
reaction") and research topics when they do not ("how are allergic reactions reported in
trials?"). Rules marked `personal` skip a message that reads as a general question about
research and names nobody (no "I", "my", "she"…), so a researcher's question still reaches
the knowledge base.

Plain Python, without Rasa: `bot.safety.SafetyGuard` applies them inside Rasa's NLU pipeline,
and the staff review app, which never loads Rasa, checks a staff correction against the same
rules before it goes live (bot.corrections).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from types import ModuleType

from bot import safety_langs

SELF_HARM, EMERGENCY, TRIAL_TREATMENT, MEDICAL_ADVICE = (
    "self_harm",
    "emergency",
    "trial_treatment",
    "medical_advice",
)
# Highest priority first: "should I stop my study drug so I can die" is self-harm.
SAFETY_INTENTS = (SELF_HARM, EMERGENCY, TRIAL_TREATMENT, MEDICAL_ADVICE)

# --- Shared vocabulary -------------------------------------------------------------------

_MEDICINE = (
    r"(medicines?|medications?|meds|drugs?|pills?|tablets?|doses?|dosage|treatments?|"
    r"chemo\w*|insulin|inhaler|injections?|antibiotics?|ibuprofen|paracetamol|aspirin|"
    r"acetaminophen|painkillers?|steroids?|antidepressants?|antihistamines?|statins?|"
    r"blood thinners?|supplements?|vitamins?|vaccines?|study drug|"
    r"trial drug|placebo)"
)
_MY = r"(my|the|our|his|her|this|these|those)"

# Someone named: the writer, a relative, a friend. "they" is left out on purpose: general
# questions use it ("how are they reported?").
_PERSONAL = re.compile(
    r"\b(i|i'm|im|i've|ive|i'd|i'll|me|my|mine|myself|we|we're|our|us|he|he's|hes|she|"
    r"she's|shes|his|her|him|someone|somebody|anybody|dad|mum|mom|mother|father|son|"
    r"daughter|wife|husband|partner|friend|baby|child)\b"
)
# A question about research, reporting or definitions rather than about a person.
_GENERAL = re.compile(
    r"\b(stud(y|ies)|trials?|research\w*|report(ed|ing|s)?|record(ed|ing|s)?|"
    r"side[- ]effects?|adverse|definitions?|define[sd]?|mean|means|meaning|risks?|rates?|"
    r"statistics|participants?|patients|volunteers|people|in general|generally|usually|"
    r"typically|symptoms|signs|causes?|treated|managed|handled|prevent\w*|protocols?|"
    r"guidelines?|what is an?|what are)\b"
)

# The person's own trial treatment: "my study pills", "the trial injection", "this
# experimental drug", "taking trial medication".
_DRUG_NOUN = (
    r"(drugs?|medicines?|medications?|meds|pills?|tablets?|capsules?|treatments?|"
    r"injections?|jabs?|shots?|infusions?|doses?|products?|vaccines?|therap(y|ies)|"
    r"patch(es)?|inhalers?|creams?|sprays?)"
)
_TRIAL_WORD = r"(clinical )?(trial|study|experimental|investigational|research)"
_MOD = (
    r"((new|weekly|daily|monthly|last|latest|first|second|third|next|morning|evening|"
    r"nightly|current|usual) )?"
)
_OWN_DRUG = (
    rf"((the|my|this|these|those|our|his|her|their|today'?s|tonight'?s|yesterday'?s) "
    rf"{_MOD}{_TRIAL_WORD} {_MOD}{_DRUG_NOUN}\b|"
    rf"\b(on|with|taking|take|took|of|from|alongside|started|starting) "
    rf"{_TRIAL_WORD} {_DRUG_NOUN}\b)"
)
_OWN_TRIAL = (
    rf"({_OWN_DRUG}|\b(in|on|during|from|since|after) (the|my|this|our|his|her) "
    r"(clinical )?(trial|study)\b|"
    r"\b(since|after) (i |he |she |we )?(started|starting|joined|joining|began|beginning|"
    r"entered|entering|enrolled|enrolling)( in| on)? (the|my|this|a) (\w+ )?(trial|study)\b|"
    r"\b(i'?m|i am|im|i've been|ive been|we'?re|she'?s|he'?s|she is|he is) (taking part |"
    r"participating |enrolled |currently |still )?(in|on) (a|the|this|my) (\w+ ){0,2}"
    r"(trial|study)\b)"
)
# "who do I tell?", "where do I report it?": the knowledge base answers whom to report to
# (faq_trials/side_effects, faq_trials/pregnancy), and says the same thing.
_REPORT_CUE = (
    r"\b(who|whom|where|which number|what number)\b.*\b(tell|report|contact|call|ring|phone|"
    r"inform|know|say|mention|speak|talk)\b|\b(report\w*|mention\w*|inform|"
    r"tell (anyone|someone|somebody|them|the|my)|let (them|the \w+( \w+)?) know)\b"
)
_SYMPTOM = (
    r"(ill|sick|unwell|poorly|rough|awful|terrible|horrible|dizzy|faint|light-?headed|"
    r"nause\w*|vomit\w*|throwing up|threw up|puking|diarrh\w*|rash|hives|itch\w*|swollen|"
    r"swelling|swelled|bruis\w*|headaches?|migraines?|pain|painful|aches?|aching|sore|"
    r"fever|temperature|tired|exhausted|fatigue\w*|weak|shaky|shaking|palpitations?|"
    r"numb\w*|tingl\w*|reaction|weird|strange|not right|worse|lump|bleeding)"
)


# "my mum had a stroke, can someone else agree to a study for her?", "can I join a trial if
# I had a stroke last year?": questions about consent or eligibility, not emergencies.
_CONSENT_QUESTION = re.compile(
    r"\b(can|could|may|am) i (still )?(take part|join|enrol\w*|sign up|participate|be in|"
    r"be part|be eligible|qualify)\b|\beligib\w*|"
    r"\b(consent\w*|agree\w*|permission|allowed|decide|on (his|her|their|my) behalf|"
    r"without asking|put (him|her|them|me) (in|into|on)|(was|were|been|being) put (in|into|on))"
    r"\b.*\b(study|trial|research)\b|"
    r"\b(study|trial|research)\b.*\b(consent\w*|agree\w*|permission|without asking|"
    r"allowed|ask(ed|ing)? (me|him|her|them|us|the family))\b"
)


@dataclass(frozen=True)
class Rule:
    intent: str
    pattern: re.Pattern[str]
    # Skip a general question about research that names nobody, or (emergencies) a question
    # about consent to or eligibility for research.
    personal: bool = False
    # "en" rules read the normalised text; the others read it folded for their language
    # (`fold`: no accents, German digraphs).
    language: str = "en"

    def applies(self, text: str) -> bool:
        """Whether the rule flags `text`, already in the form the rule reads (`form`)."""
        if not self.pattern.search(text):
            return False
        if not self.personal:
            return True
        folded = fold(text)
        # Disclosing self-harm while asking about eligibility is still a disclosure.
        if self.intent == EMERGENCY and any(words.consent.search(folded) for words in _WORDS):
            return False
        # A research question in any language stays one for every language's rules ("what is
        # an overdose study?" for the French rules, "studi sull'ictus" for the Spanish ones):
        # it counts as personal only if it names someone in a language it asks in.
        asked_in = [words for words in _WORDS if words.general.search(folded)]
        return not asked_in or any(words.person.search(folded) for words in asked_in)

    def form(self, text: str) -> str:
        """`text` as this rule reads it: normalised (English) or folded (other languages)."""
        return normalise(text) if self.language == "en" else fold(text, self.language)


@dataclass(frozen=True)
class Words:
    """A language's words for a person, a question about research and consent (read on the
    folded text)."""

    person: re.Pattern[str]
    general: re.Pattern[str]
    consent: re.Pattern[str]


def _rule(intent: str, pattern: str, personal: bool = False) -> Rule:
    return Rule(intent, re.compile(pattern), personal)


# --- Self-harm -----------------------------------------------------------------------------

_SELF_HARM = [
    _rule(
        SELF_HARM,
        r"\b(k[i1*]l+(ing)? ?my ?self|k[i1*]l+ ?myslef|\bkms\b|unalive|"
        r"(pills?|tablets?|meds|much|many|doses?|overdose)\b.{0,40}\b(kill me|to die|be fatal|"
        r"would be lethal)|"
        r"suicidal\w*|su[i1]c[i1]de? (attempt|note|plan|letter|hot ?line|help ?line|line|"
        r"number)s?|(commit|committing|comitt?ing|attempt\w*|thinking (of|about)|thoughts? "
        r"(of|about)|thought about|considering|contemplating|planning|plan|want|wanna|"
        r"going) (to )?(commit )?(a )?suicide|(way|ways|how|methods?) to (commit )?suicide|"
        r"^suicide\W*$|"
        r"end(ing)? (it all|my life|my own life|things|everything|it tonight|it today|it now)|"
        r"(want|going|plan\w*|ready|decided) to end it\W*$|"
        r"tak(e|ing) my (own )?life|(so|then|and) i (can|could|will) die|"
        r"want(ed)? to die|wanna die|wish (i|i'd) (was|were|could be) dead|wish i('d| had)? (just )?died|"
        r"wish i('d| was| were| had)? never (been )?born|"
        r"(rather|better off) (be |being )?dead|better (off )?without me|"
        r"better off (if|when) i('?m| am| was| were)? ?(gone|dead|not here|not around)|"
        r"(don'?t|do not|dont|no longer) (really )?(want|wanna|wish) (to )?(live|be alive|"
        r"be here|exist|wake up|(go on|carry on)( like this| any ?more| living)?\W*$)|"
        r"(no|nothing to|no point|no reason to|point in|point of|reason to keep) (point )?(in )?"
        r"liv(e|ing)|(no|see no|don'?t see a|dont see a|no more|not a single) reasons? "
        r"(to|for) (live|living|keep living|go on|carry on|stay)|"
        r"(life|living) (is ?n'?t|is not|isnt|ain'?t|feels?|is) (worth|pointless|"
        r"meaningless)|"
        r"(cut|cutting|burn|burning|hurt|hurting|harm|harming|hit|hitting|starve|starving|"
        r"punish\w*|hang|hanging|drown|drowning|shoot|shooting|poison|poisoning|"
        r"overdose|overdosing) my ?self|slit(ting)? my wrists?|"
        r"(can'?t|cannot|cant) ((go on|keep going)( like this| any ?more| living)?\W*$|"
        r"(go on|keep going) (like this|any ?more|living)|cope any ?more|"
        r"take (it|this|life) any ?more|do (this|it) any ?more)|giv(e|ing) up on (life|living)|"
        r"(tired|sick) of (living|life|being alive)|"
        r"jump(ing)? (off|from) (a|the|this|that|\w+) ?(bridge|building|roof|cliff|balcony|tower|"
        r"window|car park)|jump(ing)? in front of|(step|walk|throw my ?self|jump) (in front of|under) "
        r"(a|the) (train|bus|car|lorry|truck)|throw my ?self (off|from)|"
        r"not safe (with|from|around) my ?self|(nobody|no one|no-one) would (even |really )?(miss|care|notice)|"
        r"goodbye (letters?|notes?|messages?)|(said|saying|say) my goodbyes|"
        r"want (it all|everything|the pain|this|it) to (be over|end|stop for ?ever)|"
        r"disappear for ?ever|(sleep|go to sleep) and never wake|never wake up again|"
        r"(a|such a) burden (to|on|for) (everyone|everybody|my family|them|my kids|my children)|"
        r"(stockpil\w*|sav(ing|ed) up|hoard\w*|collect(ing|ed)) (all )?(my |the )?(pills|"
        r"tablets|meds|medication)|"
        r"(painless|easiest|quickest|quick) (way|death|method) to (die|go|end it)|"
        r"overdos\w*( \w+){0,3} (on purpose|deliberately|to die)|"
        r"(pills|tablets|meds)( \w+){0,2} (saved|stockpiled|hoarded|put aside)|"
        r"\bi (will |'ll |am going to |'m going to |could |might )?end it\b|"
        r"painless (way|death|method)|how to die\b)",
    ),
    # "suicide" alone: a person's word, unless the message is a research question
    # ("are there trials on suicide prevention?").
    _rule(
        SELF_HARM,
        r"^(?!.*suicide (prevention|research|rates?|statistics|risk assessment)).*\bsuicide\b|"
        r"self[- ]?harm\w*",
        personal=True,
    ),
]

# --- Emergencies ---------------------------------------------------------------------------

_EMERGENCY = [
    _rule(
        EMERGENCY,
        r"\b((can'?t|cannot|can not|cant|cnt|unable to|struggling to|hardly|barely|could ?n'?t|"
        r"could not) (breathe?|breth|get (any )?air|catch (my|his|her|their) breath)|"
        r"(trouble|difficulty|problems?|struggling|struggles) (with )?breathing|"
        r"(hard|difficult|struggle|struggling) to breathe|gasping|"
        r"(not|isn'?t|stopped|has stopped|no longer|not really) breathing|"
        r"took too many|(swallowed|taken|took) (a|the) (whole|bottle|packet|box|handful)|"
        r"(swallowed|drank|drunk|ate) (some )?(bleach|poison|antifreeze|weed ?killer|"
        r"batteries|a battery|chemicals)|"
        r"took (loads|lots|a lot|a handful|handfuls|a bottle|a whole (bottle|packet|box)) of "
        r"(pills|tablets|meds|paracetamol|painkillers|sleeping pills)|"
        r"(he|she|they|someone|somebody|my \w+|dad|mum|mom) (is|are|'s|has|have|was|just)? ?"
        r"(gone |been |just )?collapsed|"
        r"found (him|her|them|my \w+) (unconscious|collapsed|on the floor)|"
        r"passed out|(won'?t|will not|wont|doesn'?t|not) (wake|waking) up|"
        r"(he|she|they|someone|somebody|my \w+|dad|mum|mom|baby|child)( is|'s| are| was)? "
        r"(not|isn'?t|stopped|has stopped|aren'?t) (responding|moving)|"
        r"having an? (stroke|seizure|fit|heart attack|anaphylactic)|slurred|slurring|"
        r"face (has |is )?(dropp|droop)\w*|(arm|leg|side) (went|is|has gone|goes) "
        r"(numb|limp|dead|weak)|one side of (his|her|my|their|the) (face|body)|"
        r"throat (is |feels )?(closing|swelling|tight)|"
        r"(lips|tongue|face|throat) (is |are |has |have |keeps? )?(swollen|swelling|swelled|"
        r"puffing up|blowing up)|wheez\w*|turning blue|(lips|face) (is |are )?(going |gone )?"
        r"blue|blue lips|fitting|convuls\w*|seizing|"
        r"bleeding (heavily|badly|a lot|everywhere|(won'?t|will not|wont|doesn'?t) stop)|"
        r"severe bleeding|blood everywhere|"
        r"lots of blood(?! (samples?|tests?|draws?|taken))|choking|"
        r"(call|need|get|send) an ambulance|(call|dial|ring)(ed|ing)? (112|911|999)|"
        r"worst headache|^emergency\W*$)",
    ),
    # Emergencies when they happen to someone, research topics otherwise.
    _rule(
        EMERGENCY,
        r"\b(chest pains?|pains? in (my|his|her|their|the) chest|tight chest|"
        r"pain (down|in) (my|his|her) (left )?arm|"
        r"chest (is |feels )?(tight|crushing|heavy)|tight(ness)? (in )?(my|his|her) chest|"
        r"pressure (in|on) (my|his|her) chest|heart attack|cardiac arrest|overdos\w*|"
        r"\bod'?d\b|allergic reaction|anaphyla\w*|epi ?pen|seizures?|stroke|"
        r"poison(ed|ing)|unconscious|unresponsive)",
        personal=True,
    ),
]

# --- Own trial treatment -------------------------------------------------------------------

_NOT_A_REPORT_QUESTION = rf"^(?!.*(?:{_REPORT_CUE}))"
_HAS_PERSON = rf"(?=.*{_PERSONAL.pattern})"
# Questions a participant asks about their own treatment: "can I take…", "is it safe to…".
_ASK = (
    r"((can|could|should|shall|may|must) (i|he|she|we|my \w+) (just |still |safely |also |keep |"
    r"carry on |continue (to )?)?(take(?! part)|taking(?! part)|have|having|use|using|drink|"
    r"drinking|eat|eating|mix|combine|stop|skip|double|change|switch|increase|reduce|give)|"
    r"do (i|we) need to (take|stop|skip|change|switch|increase|reduce)|"
    r"is it (ok|okay|safe|fine|alright|all right|dangerous|bad|risky) (for me |for him |"
    r"for her )?(to|if i) (take(?! part)|drink|have|eat|mix|combine|skip|stop|use|give)|"
    r"(am i|are we) (allowed|ok|okay|safe) to (take|drink|have|eat|use|mix))\b"
)
# While taking part: "during the study", "while I'm on the trial", "I'm in a vaccine study".
_DURING_TRIAL = (
    r"\b((during|while (i'?m |i am |he'?s |she'?s |we'?re )?(in|on)|while taking part in) "
    r"(the|my|this|a|our|his|her) (\w+ )?(trial|study)|(i'?m|i am|im|he'?s|she'?s|we'?re) "
    r"(taking part |participating |enrolled |currently |still )?(in|on) (a|the|this|my) "
    r"(\w+ ){0,2}(trial|study))\b"
)
_AFTER_THE_TRIAL = (
    r"(?!.*\bafter (the|my|this|our) (study|trial|last)\b)"
    r"(?!.*\b(study|trial) (ends|ended|is over|finishes|finished|stops)\b)"
)
_TRIAL_TREATMENT = [
    # Missed, doubled or vomited doses of the study treatment.
    _rule(
        TRIAL_TREATMENT,
        rf"^(?=.*{_OWN_TRIAL})(?=.*\b(missed|miss|missing|forgot|forgotten|forget|forgetting|"
        r"skipped|skip|skipping|doubled?|doubling|vomited|threw up|thrown up|was sick|"
        r"(took|taken|had|given|got|take) (two|2|both|an extra|a double|the wrong|too many|"
        r"it twice|them twice|my dose twice|the dose twice))\b.*\b(doses?|pills?|tablets?|"
        r"injections?|jabs?|capsules?|shots?|infusions?|patch(es)?|it|them|medicines?|"
        r"medications?|meds|drugs?)\b)",
    ),
    _rule(
        TRIAL_TREATMENT,
        rf"^(?=.*\b(missed|forgot|forgotten|skipped|doubled|twice|by mistake|by accident|"
        rf"accidentally)\b)(?=.*{_OWN_DRUG})",
    ),
    # "how many mg of the trial medicine should I be on?"
    _rule(
        TRIAL_TREATMENT,
        rf"^{_HAS_PERSON}(?=.*\b(how (much|many)|what|which|right|correct) (mg|milligrams|ml|"
        rf"units|dose|dosage|doses|pills|tablets|capsules|injections)\b)(?=.*{_OWN_DRUG})",
    ),
    # Stopping, pausing or refusing the study treatment (not leaving the trial: an FAQ).
    _rule(
        TRIAL_TREATMENT,
        rf"^{_HAS_PERSON}(?=.*\b(stop|stopping|stopped|quit|quitting|come off|coming off|"
        r"came off|pause|pausing|give up|giving up|drop|dropping|not take|not taking|"
        r"refuse|refusing|skip|skipping|halve|halving)( taking| having| using| on)?( with)? "
        rf"{_OWN_DRUG})",
    ),
    _rule(
        TRIAL_TREATMENT,
        rf"^(?=.*{_OWN_DRUG})(?=.*\b(don'?t|do not|dont|no longer) (want|wanna|like|need)\b)",
    ),
    # "can I take paracetamol with my trial drug?", "is it safe to drink while on the study
    # medication?": mixing, changing, continuing. After the study ends it is about access.
    _rule(TRIAL_TREATMENT, rf"^{_AFTER_THE_TRIAL}(?=.*{_ASK})(?=.*{_OWN_DRUG})"),
    _rule(
        TRIAL_TREATMENT,
        rf"^{_AFTER_THE_TRIAL}(?=.*{_ASK})(?=.*{_DURING_TRIAL})(?=.*\b({_MEDICINE[1:-1]}|"
        r"alcohol|wine|beer|drinks?|drinking|grapefruit|coffee|caffeine|herbal|cbd|cannabis|"
        r"weed|other (medicines?|medications?|meds|drugs|pills|tablets))\b)",
    ),
    # Becoming pregnant during the trial (not the general rules on pregnancy: an FAQ).
    _rule(
        TRIAL_TREATMENT,
        rf"{_NOT_A_REPORT_QUESTION}(?!.*\b(what if|if (i|my|she|we)|planning|plan to|"
        r"want to (get|become)|trying (to|for)|would|next year|in the future|someday)\b)"
        r"(?=.*\b(i|i'm|im|i've|ive|i am|my (wife|partner|girlfriend))\b)"
        r"(?=.*\b(pregnant|expecting a baby|positive pregnancy test|pregnancy test (is |was |"
        rf"came back )?positive|i'?m expecting)\b)(?=.*({_OWN_TRIAL}|{_DURING_TRIAL}))",
    ),
    # "got side effects from the trial treatment, what now?": asking what to do about them.
    _rule(
        TRIAL_TREATMENT,
        rf"^(?=.*\b(got|getting|having|have|had|noticed|experiencing)\b.*\bside[- ]effects?\b)"
        rf"(?=.*{_OWN_TRIAL})(?=.*\bwhat (now|do i do|should i do|to do)\b)",
    ),
    # Feeling ill since the trial treatment (not "who do I report it to?": an FAQ).
    _rule(
        TRIAL_TREATMENT,
        rf"{_NOT_A_REPORT_QUESTION}{_HAS_PERSON}(?=.*\b{_SYMPTOM}\b)(?=.*{_OWN_TRIAL})",
    ),
]

# --- Medical advice ------------------------------------------------------------------------

_MEDICAL_ADVICE = [
    _rule(
        MEDICAL_ADVICE,
        # "can I keep taking the trial drug after the study?" asks about access, not advice.
        rf"\b((?!.*after the (study|trial))(can|could|should|shall|may|must) i (still |safely |keep )?"
        rf"(take(?! part)|taking(?! part)|stop|skip|double|increase|reduce|lower|change|switch|mix|combine|drink|eat|give|have)\b.*\b{_MEDICINE}|"
        rf"do i need to (take|stop|skip|change|increase|reduce|switch)\b.*\b{_MEDICINE}|should i stop (them|it|taking)|"
        rf"(stop|stopping|quit|quitting|skip|skipping|double|doubling) (taking )?{_MY} {_MEDICINE}|"
        rf"(keep|carry on|continue) taking (my|his|her|their) |come off (my|his|her)|"
        rf"is it (ok|okay|safe|dangerous|fine|bad|alright) (for me )?to (take|skip|drink|eat|stop|mix|combine)\b.*\b{_MEDICINE}|"
        rf"(swollen|dizzy|rash|pain|sick|fever|headache|itch\w*|nause\w*|vomit\w*).*what should i do|"
        rf"(what|which|how much|how many) (dose|dosage|mg|pills|tablets)\b.*\b(i|me)\b|too much for me|"
        rf"(which|what) (treatment|medicine|medication|drug|therapy|painkiller) (is (best|safest|right|better)|should i)|"
        rf"(best|safest|better) for (me|my)\b|is (it|this) safe for me|should i (join|enrol|enroll|sign up for) (this|that)|"
        rf"(would|will|is) (this|the|that) (\w+ )?trial (be )?(safe|right|good) for me|"
        rf"(is|are) (this|my \w+) (serious|dangerous|something to worry about)|is (that|it) serious|"
        rf"(reading|result|level|pressure|sugar|count|temperature)s? (is|was|of) .*is (that|this|it) (bad|normal|high|low|dangerous)|"
        rf"normal for me|^(?!.*\b(study|trial|letter|email)\b).*should i be worried|"
        rf"diagnose (me|my)|recommend .* (or|for my)|"
        rf"how (many|much) \w+ (can|should) i (take|have)|"
        rf"^(?=.*\b{_MEDICINE}).*is it (ok|okay|safe|fine|alright|dangerous|bad) (for me )?to "
        rf"(take|skip|stop|double|mix|combine) (them|it|both)\b|"
        rf"should i (have|try|do) the (surgery|operation|trial)|test results normal)",
    ),
]


def normalise(text: str) -> str:
    """Lower-case, straight apostrophes, single spaces."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return re.sub(r"\s+", " ", text).strip()


# German typed without its keys: "moechte", "fuer", "Strasse". Folded both in the text and in
# the German patterns, so either spelling matches ("Dauer" becomes "daur" on both sides).
_GERMAN_DIGRAPHS = (("ae", "a"), ("oe", "o"), ("ue", "u"))


def fold(text: str, language: str = "") -> str:
    """`normalise`d, then accents dropped ("idées" → "idees", "Übelkeit" → "ubelkeit", "ß" →
    "ss"): people write other languages without their accents as often as with them. For
    German, "ae"/"oe"/"ue" become "a"/"o"/"u" too."""
    decomposed = unicodedata.normalize("NFKD", normalise(text).replace("ß", "ss"))
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if language == "de":
        for digraph, letter in _GERMAN_DIGRAPHS:
            folded = folded.replace(digraph, letter)
    return folded


def _fold_pattern(pattern: str, language: str) -> str:
    """A pattern as `fold` leaves the text it reads (patterns are written lower case and
    without accents; only the German digraphs need folding)."""
    if language == "de":
        for digraph, letter in _GERMAN_DIGRAPHS:
            pattern = pattern.replace(digraph, letter)
    return pattern


def _language_rules(code: str, module: ModuleType) -> dict[str, list[Rule]]:
    """One language's rules (bot/safety_langs/<code>.py) by intent, its patterns folded as the
    text they read is."""
    found: dict[str, list[Rule]] = {intent: [] for intent in SAFETY_INTENTS}
    for intent, pattern, *personal in module.RULES:
        found[intent].append(
            Rule(
                intent,
                re.compile(_fold_pattern(pattern, code)),
                bool(personal and personal[0]),
                code,
            )
        )
    return found


_ENGLISH = {
    SELF_HARM: _SELF_HARM,
    EMERGENCY: _EMERGENCY,
    TRIAL_TREATMENT: _TRIAL_TREATMENT,
    MEDICAL_ADVICE: _MEDICAL_ADVICE,
}
_OTHERS = [_language_rules(code, module) for code, module in safety_langs.LANGUAGES.items()]
_WORDS = [
    Words(_PERSONAL, _GENERAL, _CONSENT_QUESTION),
    *(
        Words(
            re.compile(_fold_pattern(module.PERSON, code)),
            re.compile(_fold_pattern(module.GENERAL, code)),
            re.compile(_fold_pattern(module.CONSENT, code)),
        )
        for code, module in safety_langs.LANGUAGES.items()
    ),
]
# Priority first, then language: a French self-harm message is self-harm even when a French
# trial-treatment rule would match too. Every language's rules apply to every message (people
# mix languages; the message's language is not known here for certain).
RULES: list[Rule] = [
    rule
    for intent in SAFETY_INTENTS
    for rule in [*_ENGLISH[intent], *(rules for other in _OTHERS for rules in other[intent])]
]


def guard(text: str) -> str | None:
    """The safety intent `text` calls for, or None when no guardrail applies."""
    forms: dict[str, str] = {}
    for rule in RULES:
        if rule.language not in forms:
            forms[rule.language] = rule.form(text)
        if rule.applies(forms[rule.language]):
            return rule.intent
    return None
