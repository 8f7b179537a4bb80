"""Italian safety patterns (see bot/safety_langs/__init__.py for the shape). Matched against the
folded text: lower case, no accents ("è" is "e", "più" is "piu").

Italian drops the subject ("ho dimenticato la pastiglia"), so first-person verbs count as
naming the writer, and the trial-treatment rules leave out questions about participants in
general ("un partecipante", "i partecipanti")."""

from __future__ import annotations

SELF_HARM, EMERGENCY, TRIAL_TREATMENT, MEDICAL_ADVICE = (
    "self_harm",
    "emergency",
    "trial_treatment",
    "medical_advice",
)

PERSON = (
    r"\b(io|mi|me|mio|mia|miei|mie|noi|nostr\w*|lui|lei|suo|sua|suoi|sue|qualcuno|marito|"
    r"moglie|figli\w*|padre|madre|papa|mamma|amic\w*|ragazz[oa]|compagn[oa]|bambin\w*|"
    r"neonat\w*|fratello|sorella|nonn[oa]|ho|(?<!ci )sono|sto|sento|avevo|ero)\b"
)
GENERAL = (
    r"\b(studi\w*|sperimentazion\w*|trial|ricerc\w*|segnal\w*|dichiar\w*|effetti (collaterali|"
    r"indesiderati|avversi)|definizione|significa|vuol dire|rischi\w*|tass\w*|statistic\w*|"
    r"partecipanti|pazienti|volontari|la gente|persone|in generale|generalmente|di solito|"
    r"solitamente|sintomi|segni|caus\w*|prevenzione|protocoll\w*|cos'e|cosa e|cos e|"
    r"che cos'e|cosa sono)\b"
)
CONSENT = (
    r"\b(partecipare|entrare|iscriver\w*|idone\w*|consens\w*|permesso|autorizz\w*|"
    r"decidere per)\b.*\b(studio|sperimentazione|trial|ricerca)|"
    r"\b(studio|sperimentazione|trial|ricerca)\b.*\b(partecipare|consens\w*|permesso|"
    r"autorizz\w*|idone\w*)\b"
)

_DRUG = (
    r"(farmac[oi]|medicin[ae]|medicinal[ei]|pillol[ae]|pastigli[ae]|compress[ae]|capsul[ae]|"
    r"iniezion[ei]|puntur[ae]|vaccin[oi]|infusion[ei]|dos[ei]|trattament[oi]|terapi[ae]|"
    r"cerott[oi]|prodott[oi])"
)
_OWN_DRUG = (
    rf"(\b{_DRUG}( \w+)? (dello|della|del|di|per lo|per il|nello|nel) (\w+ )?(studio|"
    rf"sperimentazione|trial)\b|\b{_DRUG} sperimental\w*|\b(farmaco|trattamento|terapia|"
    r"medicinale) (in studio|in sperimentazione)\b)"
)
_IN_TRIAL = (
    r"\b((durante|nel corso dello|nel corso della|nello|nella|nel) (lo |la |il |mio |mia )?"
    r"(studio|sperimentazione|trial)|(partecipo|sto partecipando|sono|sono entrat\w*|"
    r"sono inserit\w*) (a|ad|in|nello|nella|nel) (un |uno |una |questo |questa |lo |la |il )?"
    r"(\w+ ){0,2}(studio|sperimentazione|trial)|da quando (ho iniziato|sono (entrat\w* )?"
    r"(in|nello|nella|nel)|partecipo) (a |al |alla |allo |nello |nella |lo |la |il |uno |un )?"
    r"(studio|sperimentazione|trial))\b"
)
_OWN_TRIAL = rf"({_OWN_DRUG}|{_IN_TRIAL})"
_AFTER = (
    r"(?!.*\b((dopo|alla fine|al termine|dopo la fine) (dello|della|del|di|lo|la|il) "
    r"(studio|sperimentazione|trial)|"
    r"(studio|sperimentazione|trial) (finisce|e finit\w*|termina|e terminat\w*|sara finit\w*)))"
)
_NOT_GENERAL = (
    r"(?!.*\b(un partecipante|i partecipanti|qualcuno|cosa succede se|si puo|se ho|se mi|"
    r"e se|chi paga|rimbors\w*|risarc\w*|indennizz\w*|contraccett\w*|trovat[oa] male|"
    r"prima (di (entrare|iniziare|cominciare)|dello studio|della sperimentazione|del trial))\b)"
)
# Medical advice: the same, but "before the study" is about advice, not the study drug.
_NOT_GENERAL_ADVICE = (
    r"(?!.*\b(un partecipante|i partecipanti|qualcuno|cosa succede se|si puo|se ho|se mi|"
    r"e se|chi paga|rimbors\w*|risarc\w*|indennizz\w*|contraccett\w*|trovat[oa] male)\b)"
)
_REPORT = (
    r"\b(a chi|dove|chi)\b.*\b(segnal\w*|dire|dico|dirlo|comunic\w*|avvis\w*|chiam\w*|"
    r"contatt\w*|inform\w*|riferire)\b|\b(segnal\w*|comunicar\w*)\b"
)
_NOT_REPORT = rf"^(?!.*(?:{_REPORT}))"
_HAS_PERSON = rf"(?=.*{PERSON})"
_SYMPTOM = (
    r"(male|malessere|nausea|vomit\w*|vertigin\w*|giramenti di testa|gira la testa|"
    r"mal di testa|emicrania|febbre|eruzion\w*|bolle|puntini|macchie|prurito|gonfi\w*|lividi|"
    r"stanc\w*|sfinit\w*|esaust\w*|diarrea|dolor\w*|tremo\w*|formicol\w*|strano|strana|"
    r"malissimo|uno straccio|a pezzi|effetti (collaterali|indesiderati))"
)
_ASK = (
    r"\b((posso|potrei|devo|dovrei|e (pericoloso|sicuro|grave|un problema)|va bene) (\w+ )?"
    r"(prendere|prenderlo|prenderla|bere|mischiare|mescolare|combinare|associare|smettere|"
    r"saltare|cambiare|dare|dargli|darle|raddoppiare|aumentare|diminuire|ridurre|usare|"
    r"mangiare|sospendere|interrompere))\b"
)
_MEDICINE = (
    r"(farmac[oi]|medicin[ae]|medicinal[ei]|pillol[ae]|pastigli[ae]|compress[ae]|capsul[ae]|"
    r"dos[ei]|dosaggio|terapi[ae]|cura|chemio\w*|insulina|inalatore|antibiotic[oi]|ibuprofene|"
    r"moment|oki|brufen|tachipirina|paracetamolo|aspirina|antinfiammatori\w*|"
    r"antidolorific\w*|cortison\w*|antidepressiv\w*|ansiolitic\w*|antistaminic\w*|statin[ae]|"
    r"anticoagulant\w*|coumadin|vitamin[ae]|integrator\w*|vaccin[oi])"
)
_ALSO = (
    rf"({_MEDICINE[1:-1]}|alcol|alcool|vino|birra|un bicchiere|pompelmo|caffe|canne?|"
    r"cannabis|cbd|erbe|tisane|altri farmaci)"
)

RULES: list[tuple[str, str] | tuple[str, str, bool]] = [
    (
        SELF_HARM,
        r"\b(suicidarmi|mi (voglio|vorrei|sto per) suicidare|suicida\b|pensieri suicid\w*|"
        r"idee suicid\w*|tentato il suicidio|tentativo di suicidio|"
        r"(voglio|vorrei|penso di|pensando di|sto per|come) (uccidermi|ammazzarmi|"
        r"togliermi la vita|suicidarmi|impiccarmi|buttarmi|tagliarmi|farla finita)|"
        r"mi (voglio|vorrei) (uccidere|ammazzare|impiccare|buttare)|mi ammazzo\b(?! di)|"
        r"mi uccido\b|togliermi la vita|(la )?faccio finita|farla finita|"
        r"(voglio|vorrei|ho voglia di) (solo )?(morire|essere mort\w*|sparire per sempre)|"
        r"(non )?voglio piu vivere|non ho piu voglia di vivere|(stanc\w*|stufo|stufa) di vivere|"
        r"(mi faccio|farmi|fatto) del male|mi (taglio|sono tagliat\w*)|"
        r"tagliarmi (le vene|i polsi)|"
        r"buttarmi (dal|da un|da una|dalla|giu dal|giu da|sotto (un|il|la) (treno|macchina|"
        r"metro))|"
        r"(pillole|pastiglie|compresse|farmaci)( \w+){0,3} (messe da parte|da parte|nascoste|"
        r"accumulate|conservate)|(accumul\w*|mess[oaie]|tenut[oaie]|mett\w*) da parte (le |delle |"
        r"i |dei )?(pillole|"
        r"pastiglie|compresse|farmaci)|"
        r"quant\w* (\w+ ){0,3}(pillole|pastiglie|compresse|tachipirin\w*|paracetamolo)"
        r"( \w+){0,4} per (morire|non svegliarmi)|per (poter )?morire\b|"
        r"(sono|mi sento) un peso per|(starebbero|starebbe|stareste) meglio senza di me|"
        r"meglio senza di me|(la vita|vivere) non (ha|vale) (piu )?(senso|la pena)|"
        r"non ha (piu )?senso vivere|nessun motivo per vivere|"
        r"(dormire|addormentarmi) e non svegliarmi|non svegliarmi piu|lettera d'addio|"
        r"lettera di addio|non ce la faccio piu\W*$|non ne posso piu\W*$|"
        r"non ce la faccio piu a vivere|"
        r"nessuno (sentirebbe la mia mancanza|se ne accorgerebbe)|"
        r"voglio che (tutto|il dolore) finisca)",
        False,
    ),
    (
        SELF_HARM,
        r"^(?!.*(prevenzione|ricerca|tassi?|statistiche) (del|sul|sui|dei) suicid).*"
        r"\bsuicidi?o?\b|autolesion\w*",
        True,
    ),
    (
        EMERGENCY,
        r"\b(non riesc[oe] (piu )?a respirare|non respir(o|a)\b|(faccio|fa) fatica a respirare|"
        r"respiro a fatica|difficolta (a|nel) respirare|(mi|gli|le) manca (il respiro|l'aria|"
        r"l aria|il fiato)|soffoc\w*|ha smesso di respirare|"
        r"(dolore|dolori|male|fitta|fitte) al petto|mi fa (molto )?male il petto|"
        r"(oppressione|peso|pressione|morsa) (al|sul|nel) petto|petto (stretto|che stringe|"
        r"oppresso)|(dolore|male) al braccio sinistro|"
        r"(sta avendo|ha|ho|avendo) (un|una) (infarto|attacco di cuore|ictus|crisi epilettica|"
        r"attacco epilettico|convulsione|shock anafilattico|arresto cardiaco)|"
        r"(faccia|bocca|viso) (storta|storto|cadente|paralizzat\w*|che cade)|"
        r"(un|il) lato della faccia|(parla|parlando) (strano|in modo strano)|biascica|"
        r"non riesce (piu )?a parlare|braccio (intorpidito|paralizzato|addormentato|"
        r"senza forza)|"
        r"(preso|ingerito|inghiottito|mandato giu) troppe (\w+ )?(pillole|pastiglie|compresse|"
        r"medicine|tachipirine)|troppe (pillole|pastiglie|compresse)|"
        r"(preso|ingerito|inghiottito) (una|tutta la|un'intera|un intera|un intero|tutto il) "
        r"(scatola|confezione|flacone|blister)|(bevuto|ingerito) (la |della )?(candeggina|"
        r"varechina|veleno|ammoniaca|detersivo)|pila a bottone|"
        r"(gola|lingua|labbra|faccia|viso|palpebre) (gonfi\w*|si (sta )?(gonfia|gonfiando|"
        r"chiude|chiudendo)|che si (gonfia|chiude))|mi si (chiude|gonfia) la gola|"
        r"svenut\w*|sviene|perso (i sensi|conoscenza)|priv[oa] di sensi|non si sveglia|"
        r"(lui|lei|mio \w+|mia \w+|mamma|papa|nonn[oa]|bambin[oa]|figli[oa]|marito|"
        r"moglie)( \w+){0,3} "
        r"non (reagisce|risponde)(?! (a|al|alla|alle|ai|agli|allo)\b)|crollat\w* a terra|"
        r"accasciat\w*|"
        r"crisi epilettica|attacco epilettico|"
        r"sanguina (tanto|molto|moltissimo|senza sosta|e non smette)|"
        r"non smette di sanguinare|sangue (dappertutto|ovunque)|"
        r"(chiamare|chiamo|chiamate|chiama) (un'|l'|l |un )?(ambulanza|112|118|il 112|il 118)|"
        r"e un'?emergenza|e un emergenza|"
        r"labbra (blu|viola)|(sta diventando|diventa|diventato|diventata) (blu|viola|"
        r"cianotic\w*)|peggior mal di testa)",
        False,
    ),
    (EMERGENCY, r"^\W*emergenza\W*$", False),
    (
        EMERGENCY,
        r"\b(dolore toracico|infarto|attacco di cuore|arresto cardiaco|ictus|overdose|"
        r"sovradosaggio|intossica\w*|avvelena\w*|reazione allergica|anafila\w*|shock allergico|"
        r"epipen|incoscient\w*|emorragia|convulsion[ei])\b",
        True,
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_NOT_GENERAL}(?=.*{_OWN_TRIAL})(?=.*\b(dimenticat\w*|scordat\w*|saltat\w*|"
        r"preso due volte|presa due volte|doppia dose|due dosi|vomitat\w*|raddoppiat\w*|"
        rf"per sbaglio|per errore)\b)(?=.*\b({_DRUG[1:-1]}|prenderla|prenderlo|prenderle)\b)",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_NOT_GENERAL}(?=.*\b(smettere|smetto|interrompere|sospendere|non (voglio )?"
        r"prendere piu|non prendere|mollare|saltare|lasciare|ridurre|diminuire|cambiare|"
        rf"non voglio piu|basta con)\b.*{_OWN_DRUG})",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_NOT_GENERAL}(?=.*\b(quant[oaie]|che dose|quale dose|la dose giusta)\b)"
        rf"(?=.*{_OWN_DRUG})(?=.*\b(devo|posso|prendo|prendere|mi|gli|le|do)\b)",
    ),
    (TRIAL_TREATMENT, rf"^{_AFTER}(?=.*{_ASK})(?=.*{_OWN_DRUG})"),
    (TRIAL_TREATMENT, rf"^{_AFTER}{_NOT_GENERAL}(?=.*{_ASK})(?=.*{_IN_TRIAL})(?=.*\b{_ALSO}\b)"),
    (
        TRIAL_TREATMENT,
        rf"{_NOT_REPORT}(?!.*\b(se (rimango|resto|sono|divento)|cosa succede se|possono le|"
        r"le donne incinte|donne in gravidanza|vorrei rimanere|cerchiamo|stiamo provando)\b)"
        r"(?=.*\b(sono|rimasta|mia moglie|la mia (ragazza|compagna)|test (di gravidanza )?"
        r"(e )?positivo)\b)(?=.*\b(incinta|gravidanza)\b)"
        rf"(?=.*{_OWN_TRIAL})",
    ),
    (
        TRIAL_TREATMENT,
        rf"{_NOT_REPORT}{_NOT_GENERAL}{_HAS_PERSON}(?=.*\b{_SYMPTOM}\b)(?=.*{_OWN_TRIAL})",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_AFTER}{_NOT_GENERAL_ADVICE}(?=.*\b(posso|devo|dovrei|"
        rf"potrei) (\w+ )?(continuare a )?(prendere|smettere|"
        r"aumentare|diminuire|ridurre|raddoppiare|mischiare|combinare|bere|dare|dargli|darle|"
        rf"saltare|sospendere|interrompere|cambiare)\b.*\b{_MEDICINE}\b)",
    ),
    (
        MEDICAL_ADVICE,
        r"\b(quant[oaie] (\w+ ){0,2}(posso|devo|gli posso|le posso|dovrei) (prendere|dare|"
        r"dargli|darle)|che dose (di \w+ )?(gli|le|devo|posso|per me|per mio|per mia)|"
        r"qual\w* (farmaco|cura|terapia|trattamento|medicina) (e (meglio|il migliore|"
        r"la migliore|piu sicur\w*)|mi (consigli|consiglia|consigliate)|devo prendere|"
        r"fa per me)|(meglio|migliore|piu sicur\w*) per me\b|(dovrei|devo|mi conviene) "
        r"(partecipare|entrare|iscrivermi) (a|in) (questo|questa|quello|quella) (studio|"
        r"sperimentazione|trial)|(dovrei|devo) operarmi|e (sicuro|pericoloso) per me|"
        r"(puoi|potete|puo) (farmi una diagnosi|diagnosticarmi)|che cosa ho\W*$)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_NOT_GENERAL}{_HAS_PERSON}(?=.*\b({_SYMPTOM[1:-1]}|pressione|glicemia|zucchero|esami|"
        rf"valori|"
        r"nodulo|neo|tosse)\b)(?=.*\b(e grave|e normale|e pericoloso|devo preoccuparmi|"
        r"mi devo preoccupare|cosa devo fare|che devo fare|che faccio|cosa faccio)\b)",
    ),
]

# More wordings, from the way people write them (data/nlu/it/safety.yml and its held-out set).
_CONDITION = r"\b(con (il mio|la mia|i miei|le mie)|ho (il|la|l'|un|una|lo) \w+)\b"
RULES += [
    (
        SELF_HARM,
        r"\b(non ce la faccio piu (a|ad) (andare avanti|vivere)|mi (brucio|ferisco)\b|"
        r"mi butto (dal|da un|da una|dalla|giu|sotto)|non sono al sicuro con me stess[oa]|"
        r"(cosi|almeno|e) muoio\b|(mi sono|mi son) fatt[oa] (\w+ ){0,2}del male|"
        r"lettere? (d'addio|di addio)|non voglio piu (stare al mondo|esserci|esistere)|"
        r"mi (voglio|vorrei) togliere la vita|non voglio vivere( piu)?\b|"
        r"(sarebbe|e) meglio (morire|essere mort\w*|se (morissi|non ci fossi)))",
    ),
    (
        EMERGENCY,
        r"\b(dose eccessiva|(caduto|caduta|battuto la testa)\b.*\bnon (risponde|reagisce|si muove)|"
        r"si e stort[oa] (la bocca|la faccia|il viso)|non (alza|muove|riesce a (alzare|muovere)) "
        r"(piu )?il braccio|(perdo|perde) (tanto|molto|moltissimo) sangue|"
        r"(sangue|emorragia) (e )?non si ferma|"
        r"(si|mi si|gli si|le si) (sta )?(gonfia|gonfiando|chiude|chiudendo) (la gola|la lingua|"
        r"il viso|la faccia|le labbra)|(dolore|dolori|male|fitta|fitte)( \w+)? al petto|"
        r"(preso|ingerito|inghiottito|ingoiato|mandato giu) (una|tutta la|un'intera|un intera|"
        r"un intero|tutto il) (scatola|confezione|flacone|blister))",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_AFTER}{_NOT_GENERAL}(?=.*\b(posso|potrei|devo|dovrei|deve|devono) (\w+ )?"
        r"(continuare|prenderle|prenderli|prenderne|tenere)\b)"
        rf"(?=.*({_OWN_DRUG}|{_IN_TRIAL}))(?=.*\b({_ALSO[1:-1]}|antiepilettic\w*|{_DRUG[1:-1]})\b)",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_NOT_GENERAL}(?=.*{_OWN_DRUG})(?=.*\b(fa girare la testa|mi fa girare|fastidio|"
        r"troppo (alta|bassa|forte))\b)",
    ),
    (
        TRIAL_TREATMENT,
        r"^(?!.*\b(se|cosa succede se)\b)(?=.*\bsono incinta\b)(?=.*\bsto facendo (un|uno|una|lo|"
        r"la) (studio|trial|sperimentazione)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_AFTER}{_NOT_GENERAL_ADVICE}(?=.*\b(posso|devo|dovrei|potrei|e meglio se) (\w+ )?"
        r"(prenderne|dimezzare|passare|smetto|sospendo|interrompo)\b)"
        rf"(?=.*\b({_MEDICINE[1:-1]}|anticoagulant\w*|antipertensiv\w*|antiepilettic\w*)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_AFTER}{_NOT_GENERAL_ADVICE}(?=.*\b(posso|devo|dovrei|potrei) (\w+ )?(smettere|"
        r"sospendere)\b)"
        r"(?=.*\b(antipertensiv\w*|antiepilettic\w*|anticoagulant\w*)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^(?=.*{_CONDITION})(?=.*\b(posso|potrei|mi conviene|dovrei|devo) (entrare|partecipare|"
        r"iscrivermi)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"\b({_MEDICINE[1:-1]}|chemio|antibiotico)\w* (mi |gli |le )?consigl\w*|"
        rf"\bconsigl\w* (la |il |lo |l'|i |le )?({_MEDICINE[1:-1]}|chemio)\b|"
        r"\b(mi conviene (fare|prendere|partecipare|entrare|iscrivermi|operarmi)|"
        r"(farmi|fammi|mi fai|mi fate|puoi fare|potete fare) una diagnosi|diagnosticarm\w*|"
        r"(che|quale|quali) (\w+ )?(medicina|farmaco|pastiglia|antibiotico|antidolorifico|"
        r"cura)\w* (prendo|devo prendere|posso prendere|uso) (per|contro)|"
        r"quant[oaie] (\w+ ){0,3}(posso|devo|gli posso|le posso|dovrei) (prendere|dare|dargli|"
        r"darle)|(meglio|migliore|piu sicur\w*)\b.*\bper me\b|"
        r"(devo|dovrei) (misurare|prendere|controllare) (la pressione|la glicemia|la febbre)|"
        r"(?!.*\b(rimbors\w*|soldi|compens\w*|indennizz\w*)\b)"
        r"(cosa|che cosa|che) (posso|devo|dovrei) (prendere|dare|dargli|darle)( \w+){0,3} "
        r"(per|contro)\b)",
    ),
    (
        MEDICAL_ADVICE,
        r"^(?=.*\b\d+ ?(mg|ml|unita|compresse|gocce)\b)(?=.*\b(troppo|troppi|troppa|troppe|"
        r"pochi|poco|abbastanza)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_NOT_GENERAL}(?=.*({PERSON}|\d|\b(questo|questa|questi|queste)\b))"
        rf"(?=.*\b({_SYMPTOM[1:-1]}|pressione|glicemia|zucchero|esami|analisi|valor\w*|"
        r"colesterolo|trigliceridi|emoglobina|nodulo|neo|tosse)\b)(?=.*\b(e grave|e normale|"
        r"e pericoloso|sono normali|sono (alti|bassi)|e (alt[oa]|bass[oa])|va bene|"
        r"devo preoccuparmi|mi devo preoccupare|cosa devo fare|che devo fare|che faccio|"
        r"cosa faccio|cosa puo essere|cos'ho|cosa prendo|che prendo|cosa gli do|cosa le do)\b)",
    ),
]
