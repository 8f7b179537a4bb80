"""German safety patterns (see bot/safety_langs/__init__.py for the shape). Matched against the
folded text: lower case, no umlauts and "ae"/"oe"/"ue" as "a"/"o"/"u" ("moechte" and "möchte"
are both "mochte"), "ß" as "ss"."""

from __future__ import annotations

SELF_HARM, EMERGENCY, TRIAL_TREATMENT, MEDICAL_ADVICE = (
    "self_harm",
    "emergency",
    "trial_treatment",
    "medical_advice",
)

PERSON = (
    r"\b(ich|mir|mich|mein\w*|wir|uns|unser\w*|er|sie|ihr|ihm|ihn|seine[mnrs]?|jemand\w*|"
    r"mann|frau|sohn|tochter|vater|mutter|papa|mama|freund\w*|baby|kind|bruder|schwester|"
    r"oma|opa|partner\w*)\b"
)
GENERAL = (
    r"\b(trials?|studie\w*|klinische\w*|forschung\w*|prufung\w*|gemeldet|meld\w*|dokumentiert|"
    r"nebenwirkungen|unerwunschte\w*|definition|bedeute\w*|heisst|risik\w*|rate\w*|"
    r"statistik\w*|teilnehmer\w*|patienten|proband\w*|leute|menschen|allgemein|normalerweise|"
    r"ublicherweise|symptome|anzeichen|ursache\w*|pravention\w*|protokoll\w*|was ist|was sind)\b"
)
CONSENT = (
    r"\b(teilnehmen|mitmachen|einschliessen|eingeschlossen|geeignet|einwillig\w*|zustimm\w*|"
    r"erlaubnis|erlaubt|zulassig|entscheiden)\b.*\b(studie|prufung|forschung)\w*|"
    r"\b(studie|prufung|forschung)\w*\b.*\b(teilnehmen|teilzunehmen|mitmachen|einwillig\w*|"
    r"zustimm\w*|erlaubt|geeignet)\b"
)

_DRUG = (
    r"(medikament\w*|medikation\w*|medizin|tablette\w*|pille\w*|kapsel\w*|spritze\w*|injektion\w*|"
    r"impfung\w*|impfstoff\w*|infusion\w*|dosis|dosen|praparat\w*|mittel|pflaster|"
    r"behandlung\w*|therapie\w*|wirkstoff\w*|creme|spray|inhalator)"
)
# The person's own study treatment: "das Studienmedikament", "die Tabletten aus der Studie".
_OWN_DRUG = (
    rf"(\b(studien|prufungs|pruf|test|versuchs|forschungs)-?{_DRUG}|\b{_DRUG} (aus|der|von der|"
    rf"in der|fur die) (\w+ )?(studie|prufung)\b|\bexperimentelle\w* {_DRUG})"
)
_IN_TRIAL = (
    r"\b((wahrend|in) (der|dieser|meiner) (\w+ )?(studie|prufung)|"
    r"(ich bin|ich nehme|ich mache|ich mach|bin|nehme) (gerade |aktuell |derzeit |jetzt )?"
    r"(in|an|bei) (einer|der|dieser|meiner|ner) (\w+ ){0,2}(studie|prufung)|"
    r"seit (beginn der|der|dem start der|dem beginn der) studie|"
    r"seit ich (an der|in der|bei der|mit der) studie)\b"
)
_OWN_TRIAL = rf"({_OWN_DRUG}|{_IN_TRIAL})"
_AFTER = (
    r"(?!.*\b(nach (der|dem ende der|ende der|dem) (studie|prufung|studienende)|nach studienende|"
    r"(studie|prufung) (vorbei|zu ende|"
    r"beendet|abgeschlossen) ist))"
    r"(?!.*\b(teilnehmen|mitmachen|teilzunehmen)\b.*\b(wenn|obwohl|falls)\b)"
)
_REPORT = (
    r"\b(wem|wo|an wen|bei wem)\b.*\b(melden|sagen|mitteilen|berichten|bescheid|anrufen|"
    r"wenden)\b|\bmeld\w*"
)
_NOT_REPORT = rf"^(?!.*(?:{_REPORT}))"
_HAS_PERSON = rf"(?=.*{PERSON})"
_SYMPTOM = (
    r"(ubel|ubelkeit|schlecht(?! behandelt)|schwindel\w*|kopfschmerz\w*|kopfweh|migrane|ausschlag|"
    r"juck\w*|"
    r"fieber|mude|mudigkeit|erschopft|schlapp|durchfall|erbrech\w*|kotz\w*|geschwollen|"
    r"schwellung|blaue flecken|schmerz\w*|tut weh|zitter\w*|herzrasen|taub|kribbel\w*|"
    r"komisch|seltsam|nicht gut|krank|nebenwirkung\w*)"
)
_VERB = (
    r"(nehmen|einnehmen|trinken|essen|mischen|kombinieren|absetzen|weglassen|auslassen|"
    r"verdoppeln|erhohen|reduzieren|geben|verabreichen|schlucken|spritzen|aufhoren|pausieren|"
    r"ab)"
)
_ASK = (
    r"\b((darf|kann|soll|sollte|muss|durfte|konnte|konnen|durfen|sollen) (ich|er|sie|wir|"
    rf"mein \w+|meine \w+) (\w+ ){{0,6}}{_VERB}|ist es (ok|okay|schlimm|gefahrlich|sicher|"
    r"in ordnung|riskant),? (wenn ich|\w+ zu))\b"
)
_MEDICINE = (
    r"(medikament\w*|medikation\w*|tablette\w*|pille\w*|kapsel\w*|dosis|dosierung|ibuprofen|ibu|"
    r"paracetamol|"
    r"aspirin|novalgin|schmerzmittel|schmerztablette\w*|antibiotik\w*|insulin|cortison|"
    r"kortison|antidepressiv\w*|blutdruck\w*|blutverdunner\w*|marcumar|chemo\w*|betablocker|"
    r"schlaftablette\w*|vitamin\w*|nahrungserganzung\w*|impfung|spray|inhalator|behandlung|"
    r"therapie)"
)
# German runs words together ("Allergietabletten"): a medicine may end a longer word.
_ALSO = rf"(\w*{_MEDICINE}|\b(alkohol|wein|bier|grapefruit\w*|kaffee|cannabis|gras|cbd|tee)\b)"

RULES: list[tuple[str, str] | tuple[str, str, bool]] = [
    (
        SELF_HARM,
        r"\b((will|mochte|werde|wurde|muss|sollte) mich (\w+ ){0,2}(umbringen|toten|erhangen|"
        r"aufhangen|erschiessen|vergiften|ritzen|verletzen)|"
        r"(daran|dran|davon|daruber),? mich (umzubringen|zu toten|aufzuhangen|zu ritzen|"
        r"zu verletzen)|ich bring\w* mich (\w+ )?um\b|(ritze|verletze|schneide) mich\b|"
        r"mir (was|etwas|selbst etwas|selbst was) (an)?(zu)?tun|"
        r"mir (das|mein) leben (zu )?nehmen|"
        r"suizidal\w*|(suizid|selbstmord)(gedanken|versuch\w*|gefahrdet|plan\w*|absicht\w*)|"
        r"(will|mochte|wurde am liebsten|wurde lieber|wunschte ich ware|ware lieber) "
        r"((einfach|nur|lieber|jetzt|gern|gerne) )*(sterben|tot( sein)?)\b|"
        r"(will|mochte|kann) (einfach |so )?nicht mehr (leben|sein|da sein|aufwachen|weiterleben)|"
        r"keine (lust|kraft) mehr (zu leben|auf das leben|aufs leben|weiterzuleben)|"
        r"kein bock mehr (zu leben|auf das leben|aufs leben|auf leben)|"
        r"(alles|das leben|mein leben|leben) (hat|macht) (doch )?keinen sinn mehr|"
        r"(leben|es) (ist )?nicht (mehr )?lebenswert|lebensmud\w*|"
        r"(meinem|dem) leben ein ende (setzen|machen|bereiten)|allem ein ende (setzen|machen)|"
        r"mit (allem|dem leben|meinem leben) schluss machen|mein leben beenden|"
        r"(von (der|einer) brucke|vom (dach|balkon|hochhaus)|aus dem fenster) (zu )?(springen|"
        r"sturzen)|vor (den|einen) zug (zu )?(springen|werfen|laufen|legen)|"
        r"(tabletten|pillen|medikamente)( \w+){0,3} (gesammelt|gehortet|gebunkert|"
        r"zur seite gelegt|aufgehoben)|(sammle|horte|bunkere) (\w+ )?(tabletten|pillen|"
        r"medikamente)|um (endlich |einfach )?(zu sterben|tot zu sein)\b|"
        r"(allen|meiner familie|meinen kindern|euch) (nur )?(eine|zur) last|"
        r"(besser|besser dran) ohne mich|ohne mich (besser|waren alle)|"
        r"(nie mehr|nicht mehr|nie wieder) aufwachen|abschiedsbrief\w*|"
        r"\bich kann (einfach )?nicht mehr\W*$|halte (es|das|das leben) (einfach )?nicht mehr aus|"
        r"(will|mochte) (einfach )?(fur immer )?verschwinden|niemand wurde mich vermissen|"
        r"nicht sicher vor mir selbst)",
        False,
    ),
    (
        SELF_HARM,
        r"^(?!.*((selbstmord|suizid)-?(prav|forsch|rate|statist|zahl)|pravention (von|des) "
        r"(suizid|selbstmord))).*\b(selbstmord|suizid)\w*|selbstverletz\w*|\britzen\b",
        True,
    ),
    (
        EMERGENCY,
        r"\b((kriege|krieg|kriegt|bekomme|bekommt|bekam|kriegte|hab|habe|hat) (ganz |gerade )?"
        r"(keine|kaum|schlecht|nicht genug|kein) luft|keine luft mehr|"
        r"(kaum|nicht|nicht mehr|schlecht) (mehr )?(richtig )?atmen|atmet (nicht|kaum|schwer)|"
        r"(aufgehort|aufhoren) zu atmen|atemnot|luftnot|schwer (zu )?atmen|erstick\w*|"
        r"(schmerzen|schmerz|stechen|druck|enge|engegefuhl|brennen|ziehen) (in|auf|an) der brust|"
        r"brust (tut|tat) (so |sehr |total )?weh|brust(korb)? (ist |fuhlt sich )?(so |ganz )?"
        r"(eng|zugeschnurt)|(schmerzen|schmerz|ziehen) (im|in den) linken arm|"
        r"(gesicht|mundwinkel|mund) (hangt|hangend|ist schief|schief|verzogen)|"
        r"hangende\w* mundwinkel|lallt|lallen|verwaschen\w*|spricht (undeutlich|komisch|wirr)|"
        r"kann nicht mehr (richtig )?sprechen|(arm|bein) (ist |wird )?(plotzlich )?(taub|"
        r"gelahmt|lahm|schlaff|kraftlos)|(halbseitig|einseitig) gelahmt|"
        r"(zu viele|viel zu viele) (\w+ )?(tabletten|pillen|medikamente|schlaftabletten|kapseln)"
        r"( \w+){0,3} (genommen|geschluckt|eingenommen)|"
        r"(ganze|eine ganze) (packung|schachtel|dose|flasche) (\w+ ){0,2}(genommen|geschluckt|"
        r"getrunken)|(bleiche|putzmittel|reiniger|gift|frostschutz\w*|rattengift|chlor\w*) "
        r"(getrunken|geschluckt|gegessen)|knopfbatterie|"
        r"(hals|rachen|zunge|lippen|gesicht|augenlider) (\w+ )?(schwillt|schwellen|ist geschwollen|"
        r"sind geschwollen|wird dick|werden dick|zu)\b|(hals|kehle) (schnurt sich zu|wird eng)|"
        r"zugeschnurt|"
        r"umgekippt|zusammengebrochen|kollabiert|(wacht|wird) nicht (mehr )?(auf|wach)|"
        r"(er|sie|mein \w+|meine \w+|papa|mama|kind|baby|oma|opa) reagiert (gar )?nicht( mehr)?"
        r"(?! (auf|aufs) )|nicht (mehr )?ansprechbar|"
        r"krampft|krampfen|zuckt am ganzen korper|"
        r"blutet (so |sehr |ganz )?(stark|extrem|viel|ohne aufzuhoren|und hort nicht auf)|"
        r"blutung (hort|will) nicht (auf|aufhoren)|hort nicht auf zu bluten|"
        r"(uberall|alles voller) blut|starke blutung|"
        r"(krankenwagen|rettungswagen|notarzt|rettungsdienst|112|notruf) (rufen|anrufen|wahlen|"
        r"holen)|(rufe|ruf|rufen sie|soll ich|sollen wir) (den |einen |die )?(krankenwagen|"
        r"notarzt|rettungswagen|112|notruf)|^notfall\W*$|"
        r"(es ist ein|das ist ein|ist das ein) notfall|"
        r"blaue lippen|lippen (werden|sind) blau|(wird|lauft) blau an|"
        r"(schlimmsten|starksten) kopfschmerzen)",
        False,
    ),
    (
        EMERGENCY,
        r"\b(brustschmerz\w*|herzinfarkt\w*|herzanfall|herzstillstand|schlaganfall\w*|"
        r"uberdosis|uberdosiert|vergiftung|vergiftet|allergische\w* (reaktion|schock)|"
        r"anaphyla\w*|epipen|adrenalin-?pen|quincke\w*|bewusstlos\w*|ohnmacht\w*|"
        r"krampfanfall\w*|epileptische\w* anfall)\b",
        True,
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_HAS_PERSON}(?=.*{_OWN_TRIAL})(?=.*\b(vergessen|verpasst|ausgelassen|verschwitzt|"
        r"doppelt|zweimal|zwei mal|2 mal|2x|erbrochen|ausgekotzt|gekotzt|ubergeben|aus versehen|"
        rf"versehentlich)\b)(?=.*({_DRUG[1:-1]}|\bsie\b|\bes\b))",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_HAS_PERSON}(?=.*{_OWN_DRUG})(?=.*\b(absetzen|abgesetzt|abbrechen|aufhoren|"
        r"aufgehort|nicht mehr (nehmen|einnehmen|will|mag|mochte)|weglassen|pausieren|stoppen|"
        r"verweigern|keine lust mehr|ausfallen lassen|auslassen|reduzieren|halbieren|"
        r"(setze|setz) (\w+ ){0,4}ab)\b)",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_HAS_PERSON}(?=.*\b(wie ?viel|wie viele|welche dosis|wie hoch|welche menge)\b)"
        rf"(?=.*{_OWN_DRUG})",
    ),
    (TRIAL_TREATMENT, rf"^{_AFTER}(?=.*{_ASK})(?=.*{_OWN_DRUG})"),
    (TRIAL_TREATMENT, rf"^{_AFTER}(?=.*{_ASK})(?=.*{_IN_TRIAL})(?=.*{_ALSO})"),
    (
        TRIAL_TREATMENT,
        rf"{_NOT_REPORT}(?!.*\b(wenn|falls|was passiert|durfen schwangere|schwangere frauen|"
        r"werden (will|mochte|wollen)|kinderwunsch|plane\w*)\b)"
        r"(?=.*\b(ich bin|bin ich|bin|meine (frau|freundin|partnerin)|schwangerschaftstest|"
        r"test (ist|war) positiv)\b)(?=.*\bschwanger\w*\b)"
        rf"(?=.*{_OWN_TRIAL})",
    ),
    (
        TRIAL_TREATMENT,
        rf"{_NOT_REPORT}{_HAS_PERSON}(?=.*\b{_SYMPTOM})(?=.*{_OWN_TRIAL})",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_AFTER}(?=.*\b(soll|sollte|darf|kann|muss|durfte|konnte) (ich|er|sie|mein \w+|"
        rf"meine \w+) (\w+ ){{0,6}}{_VERB}\b)(?=.*\b{_MEDICINE}\b)",
    ),
    (
        MEDICAL_ADVICE,
        r"\b(wie ?(viel|viele) (\w+ ){0,2}(darf|kann|soll) (ich|er|sie|mein \w+)|"
        r"welche (dosis|dosierung|menge)\b.*\b(ich|mein\w*|mir)\b|"
        r"welche\w* (behandlung|therapie|tablette|medikament\w*|mittel) (ist|ware|sollte ich|"
        r"soll ich|nehme ich|empfehlen sie)|(beste|besser|richtig\w*) fur mich|"
        r"was (empfehlen|raten) sie mir|was wurden sie mir (empfehlen|raten)|"
        r"(fur mich|bei mir) (gefahrlich|sicher|geeignet)|"
        r"soll(te)? ich (an )?(dieser|der|diese) studie (teilnehmen|mitmachen)|"
        r"soll(te)? ich (bei )?(dieser|der) studie mitmachen|"
        r"soll(te)? ich mich (fur (die|diese) studie anmelden|operieren lassen)|"
        r"konnen sie mich diagnostizieren|was habe ich\W*$)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_HAS_PERSON}(?=.*\b({_SYMPTOM[1:-1]}|blutdruck|zucker|werte?|blutwerte|befund|"
        r"knoten|beule|husten|leberfleck)\b)(?=.*\b(ist (das|es) (schlimm|ernst|gefahrlich|normal|"
        r"bedenklich)|muss ich mir sorgen machen|sollte ich mir sorgen machen|was soll ich (tun|"
        r"machen)|was (tun|mache ich jetzt))\b)",
    ),
]

# More wordings, from the way people write them (data/nlu/de/safety.yml and its held-out set).
_MORE_VERBS = (
    r"(weiternehmen|weiter nehmen|weiter einnehmen|aussetzen|machen lassen|wechseln|umsteigen|"
    r"umstellen)"
)
RULES += [
    (
        SELF_HARM,
        r"\b(kann (so |einfach )?nicht mehr weiter(machen|leben)?\b|"
        r"mich (selbst )?(umzubringen|zu toten|aufzuhangen|zu ritzen|zu verletzen)|"
        r"(wunsche ich mir|will|mochte|wurde gern) (\w+ ){0,2}(zu )?verschwinden|"
        r"(springe|spring|sturze mich) (\w+ ){0,2}(von|vom|aus|vor) (\w+ )?(brucke|dach|"
        r"hochhaus|fenster|balkon|zug)|damit ich (endlich )?sterben kann|"
        r"(bin|ware) (nur noch |nur |doch nur )?eine last|(mude|satt) (vom|von meinem) leben|"
        r"das leben satt|(mag|will) nicht mehr leben|\bich (will|mag) (einfach )?nicht mehr\W*$|"
        r"kein(en)? bock mehr (zu leben|auf das leben|aufs leben|auf leben)|"
        r"(besser|lieber),? wenn ich tot (ware|bin)|ware (ich )?lieber tot|wenn ich tot ware)",
    ),
    (
        EMERGENCY,
        r"\b((gesicht|mundwinkel|mund) (\w+ ){0,2}(hangt|ist schief|verzogen)|"
        r"arm nicht (mehr )?(heben|bewegen)|"
        r"blut(e|et) (so |sehr |ganz )?(stark|extrem|viel)|"
        r"(ruft|ruf|rufe|rufen sie|holt|hol) (den |einen |die )?(krankenwagen|notarzt|"
        r"rettungswagen|rettungsdienst)|(gesturzt|hingefallen|"
        r"umgefallen)\b.*\breagiert (gar )?nicht|"
        r"\b(hat|hab|habe|bekommt|kriegt) (gerade |wieder )?(einen|nen) (epileptischen )?"
        r"(anfall|krampfanfall)\b(?! gehabt)|"
        r"(kind|sohn|tochter|baby|er|sie|mann|frau|vater|mutter|oma|opa)( \w+){0,2} (hat|haben) "
        r"(\w+ ){0,2}(tabletten|pillen|medikamente|schlaftabletten) (geschluckt|gegessen))",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_AFTER}(?=.*\b(darf|kann|soll|sollte|muss) (ich|er|sie|wir|mein \w+|meine \w+) "
        r"(\w+ ){0,6}(weiternehmen|weiter nehmen|weiter einnehmen|aussetzen|bekommen|kriegen|"
        rf"machen lassen)\b)(?=.*({_OWN_DRUG}|{_IN_TRIAL}))(?=.*({_ALSO}|{_OWN_DRUG}))",
    ),
    (
        TRIAL_TREATMENT,
        r"^(?=.*\b(ich bin|bin) (\w+ ){0,2}(in|an|bei) (einer|der|dieser|meiner|ner) "
        r"(\w+ ){0,2}\w*(studie|prufung))(?=.*\bschwanger\w*)(?!.*\b(wenn|falls)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_AFTER}(?=.*\b(soll|sollte|darf|kann|muss) (ich|er|sie|mein \w+|meine \w+) "
        rf"(\w+ ){{0,8}}({_VERB}|{_MORE_VERBS})\b)(?=.*\b({_MEDICINE[1:-1]}|statin\w*)\b)",
    ),
    (
        MEDICAL_ADVICE,
        r"\b(soll(te)? ich\b.*\b(dieser|diese)\b.*\b(teilnehmen|mitmachen)\b|"
        r"(sicher|gefahrlich|geeignet|riskant|ungefahrlich|schadlich) (fur|bei) (mich|mir|"
        r"meine\w*)\b|"
        r"(wurdest du|wurden sie|kannst du|konnen sie|empfiehlst du|ratst du)\b.*\b(raten|"
        r"empfehlen)\b|\bwas (empfiehlst|ratst|rats?t) du\b|\b(empfiehlst|ratst) du mir\b|"
        r"(kannst du|konnen sie|konntest du|konnten sie) (\w+ ){0,3}diagnostizieren|"
        r"soll(te)? ich (\w+ ){0,3}(op|operation|operieren|chemo|"
        r"bestrahlung)\b|welche\w* (\w+ )?(tablette|medikament|mittel|pille)\w* (hilft|wirkt))",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_HAS_PERSON}(?=.*\b\d+ ?(mg|ml|milligramm|einheiten|ie|tabletten)\b)"
        r"(?=.*\b(zu viel|zu wenig|zu hoch|zu niedrig)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_HAS_PERSON}(?=.*\b({_SYMPTOM[1:-1]}|blutdruck|\w*zucker|\w*werte?|befund|knoten|"
        r"beule|husten|leberfleck|cholesterin)\b)(?=.*\b((ist|sind|war) (das|es|die|meine|mein)"
        r"( \w+)? (schlimm|ernst|gefahrlich|normal|bedenklich|zu hoch|zu niedrig|zu viel|ok|"
        r"okay|in ordnung)|(muss|sollte|soll) ich mir (\w+ ){0,4}sorgen machen|"
        r"was (soll|kann|darf) ich (dagegen |da |denn )?(nehmen|einnehmen|tun|machen))\b)",
    ),
]
