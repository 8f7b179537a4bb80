"""French safety patterns (see bot/safety_langs/__init__.py for the shape). Matched against the
folded text: lower case, no accents ("idees suicidaires", "j'etouffe")."""

from __future__ import annotations

SELF_HARM, EMERGENCY, TRIAL_TREATMENT, MEDICAL_ADVICE = (
    "self_harm",
    "emergency",
    "trial_treatment",
    "medical_advice",
)

# Someone named. "il" only as a person: not "il y a", "il faut", "peut-il" (a question form).
PERSON = (
    r"\b(je|j'|moi|me|m'|mon|ma|mes|nous|notre|nos|(?<!-)il(?! y a| faut| est (possible|"
    r"necessaire|normal|obligatoire|interdit))|elle|lui|son|sa|ses|quelqu'un|mari|femme|fils|"
    r"fille|pere|mere|papa|maman|ami|amie|copain|copine|bebe|enfant|frere|soeur|grand-?mere|"
    r"grand-?pere)\b"
)
GENERAL = (
    r"\b(trials?|essais?|etudes?|recherches?|declar\w*|signal\w*|effets? (secondaires|"
    r"indesirables)|"
    r"definitions?|veut dire|signifie|risques?|taux|statistiques?|participants?|patients|"
    r"volontaires|les gens|en general|generalement|habituellement|d'habitude|symptomes|signes|"
    r"causes?|prevention|protocoles?|c'est quoi|qu'est-ce qu|qu'est ce qu|qu est ce qu)\b"
)
CONSENT = (
    r"\b(peut|peux|puis|pourrait|pourrais)(-| )?(il|elle|je)? ?(participer|etre|entrer|rentrer|"
    r"s'inscrire|m'inscrire)\b.*\b(essai|etude)|"
    r"\b(participer|m'inscrire|s'inscrire|inclu\w*|eligib\w*|consent\w*|accord|autoris\w*|"
    r"a sa place|en son nom)\b.*\b(essai|etude|recherche)s?\b|"
    r"\b(essai|etude|recherche)s?\b.*\b(participer|consent\w*|accord|autoris\w*|eligib\w*)\b"
)

_DRUG = (
    r"(traitements?|medicaments?|medocs?|medications?|comprimes?|cachets?|pilules?|gelules?|"
    r"capsules?|injections?|piqures?|vaccins?|perfusions?|doses?|produits?|patchs?|molecules?|"
    r"sprays?|inhalateurs?|cremes?)"
)
# The person's own study treatment: "le medicament de l'essai", "mes comprimes de l'etude".
_OWN_DRUG = (
    rf"(\b{_DRUG}( \w+)? (de l'|de l |d'|de|du|pour l'|dans l'|de mon |de cet |de cette |"
    rf"pour mon )(essai|etude)\b|\b{_DRUG} (experimenta\w*|a l'etude|a l'essai|en essai|"
    r"teste)\b|\b(traitement|medicament|produit)s? (de|du) protocole\b)"
)
_IN_TRIAL = (
    r"\b((pendant|durant|dans|au cours de) (l'|l |mon |cet |ce |cette |le |la |ma )(essai|etude)|"
    r"(je suis|je participe|j'participe|je fais partie|inclus|inclue|incluse|participe) "
    r"(a |dans |d')(un |une |l'|cet |cette |mon |ma |le |la )?(\w+ ){0,2}(essai|etude)|"
    r"depuis (le debut de )?(l'|mon |cet |cette )(essai|etude)|"
    r"depuis que (j'ai|je suis|je participe|il a|elle a) (commence|debute|rentre|entre|dans|a)"
    r"( dans| a)? (l'|l |un |une |cet |cette |mon |le |la )?(\w+ )?(essai|etude|traitement))\b"
)
_OWN_TRIAL = rf"({_OWN_DRUG}|{_IN_TRIAL})"
_AFTER = (
    r"(?!.*\b((apres|a la fin de) (l'|mon |cet |cette |la fin de l')(essai|etude)|"
    r"(essai|etude) (sera |est )?(fini|termine)e?)\b)"
)
# "who do I tell?", "who pays if…?": the knowledge base answers these (faq_participation).
_REPORT = (
    r"\b(contacte|appelle|previens|dis|le dis|signale)( \w+)? (a )?qui\b|\bqui (contacter|appeler|"
    r"prevenir)\b|\b(qui paie|qui paye|indemnis\w*|rembours\w*|assurance|compens\w*)\b|"
    r"\b(a qui|qui (dois-je|je dois|faut-il)|ou (dois-je|je dois|faut-il))\b.*\b(signaler|"
    r"dire|declarer|prevenir|contacter|appeler|informer|parler)\b|\b(signal\w*|declar\w*)\b"
)
_NOT_REPORT = rf"^(?!.*(?:{_REPORT}))"
_HAS_PERSON = rf"(?=.*{PERSON})"
_SYMPTOM = (
    r"(malade|(?<!pas )mal\b|nause\w*|envie de vomir|vomi\w*|vertiges?|etourdi\w*|la tete qui "
    r"tourne|maux? de tete|migraines?|fievre|boutons|plaques|rougeurs?|eruption\w*|demang\w*|"
    r"gratte|gonfle\w*|enfle\w*|hematomes?|fatigue\w*|epuise\w*|creve\w*|diarrhee|douleurs?|"
    r"courbatures?|palpitations?|tremble\w*|engourdi\w*|fourmillements?|bizarre|pas bien|"
    r"pas normal|pire|saigne\w*|effets? (secondaires|indesirables))"
)
_ASK = (
    r"\b((je peux|je pourrais|puis-je|puis je|est-ce que je peux|est ce que je peux|"
    r"est-ce que je pourrais|peut-on|on peut|je dois|dois-je|je devrais|devrais-je|"
    r"faut-il que je|il faut que je|ai-je le droit de|j'ai le droit de|"
    r"(c'est|est-ce|est-ce que c'est|il est) (grave|dangereux|risque|ok|bon|possible|sans danger) "
    r"de|est-ce que c'est (grave|dangereux|risque) de) (encore |quand meme |aussi |"
    r"continuer a |continuer de )?(prendre|boire|melanger|associer|combiner|arreter|sauter|"
    r"doubler|changer|donner|avaler|utiliser|consommer|manger|diminuer|augmenter))\b"
)
_MEDICINE = (
    r"(medicaments?|medocs?|medications?|comprimes?|cachets?|pilules?|gelules?|doses?|dosage|"
    r"traitements?|chimio\w*|insuline|ventoline|inhalateur|antibiotiques?|anti-?inflammatoires?|"
    r"doliprane|dafalgan|efferalgan|paracetamol|ibuprofene|advil|nurofen|spasfon|aspirine|"
    r"anti-?douleurs?|cortisone|corticoides?|antidepresseurs?|anxiolytiques?|somniferes?|"
    r"anti-?histaminiques?|statines?|anticoagulants?|complements?|vitamines?|vaccins?)"
)
_ALSO = (
    rf"({_MEDICINE[1:-1]}|alcool|vin|biere|un verre|pamplemousse|cafe|cannabis|joint|cbd|"
    r"plantes|tisanes?|autres? (medicaments|traitements))"
)

RULES: list[tuple[str, str] | tuple[str, str, bool]] = [
    (
        SELF_HARM,
        r"\b(me suicider|me suicide|suicidaire\w*|idees? (suicidaires?|noires)|"
        r"pensees? suicidaires?|(tentative|lettre) de suicide|"
        r"(veux|vais|voudrais|envie de|pense a|penser a|aller|comment|finir par|faut que je) "
        r"me (tuer|suicider|foutre en l'air|flinguer|pendre|noyer|jeter)\b|"
        r"me (tuer|foutre en l'air|flinguer|pendre)\W*$|"
        r"(m'ouvrir|me couper|me tailler|couper|ouvert) les veines|"
        r"me jeter (sous|d'un|du|par|de la|du haut|dans le vide)|"
        r"sauter (d'un|du|par la|de la|du haut d'un|du haut du) (pont|immeuble|fenetre|toit|"
        r"falaise|balcon)|"
        r"mettre fin a (mes jours|ma vie|tout|mon existence)|"
        r"en finir(?! avec (?!la vie|ma vie|tout|moi|mon existence))|"
        r"(veux|voudrais|envie de|prefere|preferer|prefererais|j'aimerais) (plutot |juste |"
        r"simplement )?(mourir|crever|disparaitre pour toujours)|"
        r"(pour|et) (pouvoir )?(mourir|crever)\b(?! dans la dignite)|"
        r"(plus|pas) (envie|la force|le courage|de raison|de raisons) de (vivre|continuer)|"
        r"(ne )?veux plus vivre|marre de (la vie|vivre)|"
        r"(la vie|vivre|ma vie) ne (vaut|merite) (pas|plus|rien)|a quoi bon vivre|"
        r"(aucune|plus de) raisons? de vivre|(sert|servirait) a rien de vivre|"
        r"mieux sans moi|(un|une) (fardeau|poids|charge) pour (tout le monde|les autres|"
        r"ma famille|mes proches|mes enfants|eux)|"
        r"(me faire|me fais|je me fais|m'infliger) du mal|"
        r"me (scarifie|scarifier|mutile|mutiler)|"
        r"je me (coupe|brule|taillade)\b(?! (les cheveux|les ongles|le doigt|en))|"
        r"(avaler|prendre) tous mes (medicaments|cachets|comprimes|medocs)|"
        r"(cachets|comprimes|medicaments|medocs|pilules) (de cote|mis de cote|stockes|caches)|"
        r"(stocke|garde|accumule) (mes|des|tous mes) (cachets|comprimes|medicaments|medocs)|"
        r"combien de (cachets|comprimes|pilules|medicaments|paracetamol|doliprane)( \w+){0,4} "
        r"pour (mourir|en finir|ne plus me reveiller)|"
        r"(dormir|m'endormir) (et ne plus|pour toujours|sans me reveiller)|"
        r"ne (plus jamais|jamais plus|plus) me reveiller|"
        r"disparaitre (pour toujours|a jamais|definitivement)|lettres? d'adieu|"
        r"(dit|dire|fait mes) adieux?|"
        r"(j'en peux|j'peux|je n'en peux|je peux|j en peux|je n en peux) plus\W*$|"
        r"(j'en peux|je n'en peux|j en peux|je n en peux) plus de (vivre|cette vie|la vie)|"
        r"(ne )?supporte plus (la vie|de vivre)|pas en securite avec moi|"
        r"personne ne (me regretterait|le remarquerait|remarquerait|s'en rendrait compte)|"
        r"(veux|voudrais) que (tout|la douleur|ca) s'arrete( pour toujours| a jamais| "
        r"definitivement)?\W*$|(que tout|la douleur) s'arrete (pour toujours|a jamais)|"
        r"plus envie d'etre la|ne veux plus etre la)",
        False,
    ),
    (
        SELF_HARM,
        r"^(?!.*(prevention|recherche|taux|statistiques?|etudes?|essais?) (du|de|sur le) "
        r"suicide).*\bsuicide\b|\b(auto-?mutil\w*|scarification\w*)",
        True,
    ),
    (
        EMERGENCY,
        r"\b((arrive|arrivent|parviens|parvient|reussis|reussit) (plus|pas|presque plus|"
        r"presque pas|a peine|mal) a respirer|"
        r"(peux|peut|pouvait|pouvons) (plus|pas|presque plus|presque pas|a peine) respirer|"
        r"(du mal|de la peine|difficultes?|beaucoup de mal) a respirer|"
        r"respire (mal|difficilement|tres mal|plus|avec difficulte)|"
        r"(etouff|suffoqu)\w*|manque d'air|(plus|pas) d'air\b|souffle (coupe|court)|"
        r"(douleurs?|mal) (dans|a|sur) la poitrine|douleurs? (au|dans le) (thorax|sternum)|"
        r"mal au (thorax|sternum)|"
        r"(poitrine|thorax) (qui )?(serre|brule|comprime|ecrase|me serre|me fait mal|"
        r"oppresse\w*|me brule)|"
        r"(serrement|oppression|pression|poids|barre|etau) (dans la|sur la|a la|au niveau de la) "
        r"poitrine|(oppression|serrement) thoracique|"
        r"(douleur|mal) (dans le|au) bras gauche|"
        r"(fait|faire|fais|faisant|fasse) (un|une) (infarctus|crise cardiaque|avc|attaque|"
        r"malaise cardiaque|crise d'epilepsie|crise convulsive|choc anaphylactique|overdose|"
        r"arret cardiaque)|"
        r"(pris|avale|avaler) (beaucoup |bcp |bien )?trop de (comprimes|cachets|pilules|"
        r"medicaments|medocs|gelules|doliprane|paracetamol)|"
        r"(avale|pris|bu) (une|toute la|tout le|la|le) (boite|plaquette|flacon|tube)|"
        r"(bu|avale) (de la |du |de l')?(javel|poison|deboucheur|detergent|produit menager|"
        r"antigel)|pile bouton|"
        r"evanoui\w*|tombe\w* dans les pommes|perdu connaissance|sans connaissance|"
        r"ne se reveille (pas|plus)|ne reagit (plus|pas)|"
        r"(ne|n') ?(repond|respire|bouge) plus(?! (a|au|aux|de|depuis) )|"
        r"(s'est|se sont|suis) (effondre|ecroule)\w*|inanime\w*|"
        r"convuls\w*|crise d'epilepsie|crise convulsive|"
        r"(gorge|langue|levres?|visage|bouche|paupieres) (qui )?(gonfle\w*|enfle\w*|se ferme|"
        r"serree|se serre|qui se serre)|gorge qui se ferme|"
        r"levres (bleues|violettes)|(devient|devenu\w*|vire) (tout |toute )?(bleu|violet)\w*|"
        r"(saigne|saignement\w*) (beaucoup|enormement|abondamment|sans arret|a flot|"
        r"(qui )?ne s'arrete pas)|(du )?sang partout|(ne s'arrete|n'arrete) pas de saigner|"
        r"(appeler|appelle|appelez|faut-il appeler|dois-je appeler|j'appelle) (le |les )?"
        r"(15|18|112|samu|pompiers|une ambulance|les secours)|besoin d'une ambulance|"
        r"envoyez une ambulance|^(urgence|au secours)\W*$|c'est une urgence|"
        r"pire mal de (tete|crane))",
        False,
    ),
    (
        EMERGENCY,
        r"\b(douleurs? thoraciques?|infarctus|crise cardiaque|arret cardiaque|overdose|surdose|"
        r"surdosage|reaction allergique|anaphyla\w*|choc allergique|oedeme de quincke|epi-?pen|"
        r"stylo d'adrenaline|anapen|crises? d'epilepsie|convulsions?|avc|accident vasculaire|"
        # Stroke signs name someone, and a consent question can mention them ("il a eu un AVC
        # et ne peut pas parler, peut-il etre dans un essai ?").
        r"(visage|bouche) (de travers|qui tombe|tombe|paralyse\w*|deform\w*|qui se deforme|"
        r"tordu\w*)|(un|le) cote du visage|(parle|parlait) (bizarrement|bizarre|de facon bizarre)|"
        r"bafouill\w*|(n'arrive|n'arrivait|ne peut|ne pouvait) (plus|pas) (a )?(parler|articuler)|"
        r"(bras|jambe) (droit |gauche |droite )?(engourdi\w*|paralyse\w*|ne repond plus|"
        r"tout mou|toute molle|sans force|qui lache)|"
        r"attaque cerebrale|intoxi\w*|empoisonn\w*|inconscient\w*|hemorragie)\b",
        True,
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_HAS_PERSON}(?=.*{_OWN_TRIAL})(?=.*\b(oubli\w*|rate|rater|saute|sauter|loupe|"
        r"louper|vomi\w*|pris (deux fois|2 fois|une dose en trop|double dose|trop)|"
        r"double dose|dose double|deux doses|2 doses|doubl\w*|par erreur)\b)"
        rf"(?=.*\b({_DRUG[1:-1]}|le prendre|la prendre|les prendre)\b)",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_HAS_PERSON}(?=.*\b(arret\w*|stopp\w*|ne (plus|pas) prendre|plus prendre|lacher|"
        r"laisser tomber|abandonn\w*|saut\w*|suspend\w*|interromp\w*|diminu\w*|baiss\w*|"
        r"augment\w*|reduire|chang\w*|modifi\w*|couper|refus\w*|veux plus|veux pas|"
        r"(plus|pas) envie|"
        rf"marre)\b.*{_OWN_DRUG})",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_HAS_PERSON}(?=.*\b(combien (de|d')|quelle (dose|quantite)|quel dosage|la bonne "
        rf"dose|combien je (dois|peux))\b)(?=.*{_OWN_DRUG})",
    ),
    (TRIAL_TREATMENT, rf"^{_AFTER}(?=.*{_ASK})(?=.*{_OWN_DRUG})"),
    (TRIAL_TREATMENT, rf"^{_AFTER}(?=.*{_ASK})(?=.*{_IN_TRIAL})(?=.*\b{_ALSO}\b)"),
    (
        TRIAL_TREATMENT,
        rf"{_NOT_REPORT}(?!.*\b(et si|si je|si ma|si on|peut-on|les femmes|une femme|"
        r"une participante|envisage\w*|projet|essayer|voudrais|veut|aimerais|tomber enceinte)\b)"
        r"(?=.*\b(je suis|j'suis|chui|je viens d'apprendre|ma (femme|copine|compagne|"
        r"partenaire)|test (de grossesse )?(est )?positif)\b)(?=.*\b(enceinte|grossesse)\b)"
        rf"(?=.*{_OWN_TRIAL})",
    ),
    (
        TRIAL_TREATMENT,
        rf"{_NOT_REPORT}{_HAS_PERSON}(?=.*\b{_SYMPTOM})(?=.*{_OWN_TRIAL})",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_AFTER}(?=.*\b(je peux|puis-je|puis je|est-ce que je peux|est ce que je peux|je dois|"
        r"dois-je|est-ce que je dois|je devrais|devrais-je|est-ce que je devrais|faut-il que je|"
        r"il faut que je) (encore |quand meme |continuer a )?(prendre|arreter|stopper|sauter|"
        r"doubler|augmenter|diminuer|baisser|reduire|changer|melanger|associer|combiner|boire|"
        rf"donner|continuer)\b.*\b{_MEDICINE}\b)",
    ),
    (
        MEDICAL_ADVICE,
        r"\b((quelle|combien de|combien d') (dose|dosage|mg|milligrammes|comprimes|cachets|"
        r"gelules)\b.*\b(je|j'|me|moi|mon|ma)\b|"
        r"combien de \w+ (je peux|puis-je|dois-je|je dois|je devrais)|"
        r"(quel|quelle) (traitement|medicament|medoc|therapie|antidouleur) (est (le|la) "
        r"(meilleur|meilleure|plus sur\w*)|me (conseillez|conseilles|recommandez)|(dois|devrais)"
        r"-je|je dois|je devrais|pour moi)|"
        r"(meilleur|mieux|plus sur) pour (moi|mon|ma)\b|"
        r"(dois-je|je dois|devrais-je|je devrais|est-ce que je devrais|est-ce que je dois|"
        r"vous me conseillez de|tu me conseilles de) (participer|m'inscrire|entrer|rentrer|"
        r"me lancer) (a|dans|en) (cet|cette|ce|l')\s?(essai|etude)|"
        r"(dois-je|je dois|devrais-je|je devrais|est-ce que je devrais) (me faire operer|"
        r"faire l'operation|accepter l'operation)|"
        r"(est-ce|c'est) (sans danger|sur|dangereux|risque) pour moi|"
        r"(pouvez-vous|vous pouvez|peux-tu|tu peux) me (diagnostiquer|dire ce que j'ai)|"
        r"qu'est-ce que j'ai\W*$)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_HAS_PERSON}(?=.*\b({_SYMPTOM[1:-1]}|tension|glycemie|taux|resultats?|analyses?|"
        r"prise de sang|grain de beaute|bosse|toux|sucre)\b)(?=.*\b(c'est grave|est-ce grave|"
        r"est ce grave|est-ce (que c'est )?(grave|serieux|inquietant|normal)|c'est (serieux|"
        r"inquietant|normal)|je dois m'inquieter|dois-je m'inquieter|faut-il s'inquieter|"
        r"je devrais m'inquieter|je fais quoi|que dois-je faire|qu'est-ce que je dois faire|"
        r"je dois faire quoi)\b)",
    ),
]

# More wordings, from the way people write them (data/nlu/fr/safety.yml and its held-out set).
RULES += [
    (
        SELF_HARM,
        r"\b((la vie|ma vie|vivre|plus rien) n'a (plus|pas|aucun) (de )?sens|"
        r"(veux|voudrais|envie de) (juste |simplement )?disparaitre\b|"
        r"a quoi bon (continuer a )?vivre|a quoi bon continuer\W*$|"
        r"\bj(e )?veux (juste )?(mourir|crever|en finir|me tuer)\b|\bjvais me tuer\b)",
    ),
    (
        EMERGENCY,
        r"\b((serre|serrent|comprime|ecrase|brule) (la|ma|sa) poitrine|"
        r"(avale|pris|bu) (toute une|tout un) (boite|plaquette|flacon|tube)|"
        r"respire (presque |quasiment )?(plus|pas)\b|"
        r"(est|etait) (allonge\w* |inanime\w* |etendu\w* )?par terre\b)",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_AFTER}(?=.*\b((\w+ )?(doit|doivent)-(il|elle|ils|elles)|dois-je|je dois|"
        rf"faut-il que je) (continuer|garder|arreter|prendre)\b)(?=.*{_IN_TRIAL})"
        rf"(?=.*\b{_ALSO}\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_HAS_PERSON}(?=.*\b(conseill|recommand)\w*)(?=.*\b({_MEDICINE[1:-1]}|chimio|quoi|"
        r"traitement|antibiotique)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_HAS_PERSON}(?=.*\b(c'est|est-ce|est ce) (grave|dangereux|normal|inquietant) (si|que|"
        rf"d'avoir|de)\b)(?=.*\b({_MEDICINE[1:-1]}|{_SYMPTOM[1:-1]})\b)",
    ),
    (
        MEDICAL_ADVICE,
        r"^(?!.*\b(essais?|etudes?)\b)(?=.*\b(c'est|est-ce|est ce) (grave|normal) d'avoir\b)"
        rf"(?=.*\b{_SYMPTOM})",
    ),
    (
        MEDICAL_ADVICE,
        r"\b((meilleur|meilleure|mieux)( \w+){0,2} pour (moi|mon|ma|mes)\b|"
        r"(sans danger|dangereux|risque\w*|adapte|sur) pour (moi|mon|ma)\b|"
        r"(quel|quelle|quels) (\w+ )?(medicament|traitement|medoc|antibiotique|antidouleur|"
        r"remede)s? (prendre|pour (ma|mon|mes)|contre (ma|mon|mes))|"
        r"je (lui |leur )?donne quoi|(je|on) (lui )?donne (quoi|quel)|"
        r"qu'est-ce que je (lui )?donne|je prends quoi|je peux prendre quoi|"
        r"\b(ce|cette|ces) (grain de beaute|bosse|boule|tache|bouton|symptome|douleur|toux|"
        r"fievre|rougeur)s?\b.*\b(dangereux|grave|inquietant|normal))",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_HAS_PERSON}(?=.*\b({_SYMPTOM[1:-1]}|ventre|tension|toux)\b)(?=.*\b(c'est quoi selon "
        r"(toi|vous)|selon (toi|vous)|a votre avis|a ton avis|qu'est-ce que (c'est|ca peut etre)|"
        r"ca peut etre quoi)\b)",
    ),
]
