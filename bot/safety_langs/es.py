"""Spanish safety patterns (see bot/safety_langs/__init__.py for the shape). Matched against the
folded text: lower case, no accents ("tomé" is "tome", "daño" is "dano").

Spanish drops the subject ("olvidé la pastilla"), so the trial-treatment rules rely on the verb
forms and on "my/the study medicine" rather than on a pronoun, and leave out questions about
participants in general ("un participante", "los participantes")."""

from __future__ import annotations

SELF_HARM, EMERGENCY, TRIAL_TREATMENT, MEDICAL_ADVICE = (
    "self_harm",
    "emergency",
    "trial_treatment",
    "medical_advice",
)

# Spanish drops the subject: first-person verbs name the writer ("tengo", "estoy").
PERSON = (
    r"\b(yo|me|mi|mis|tengo|estoy|he|siento|noto|creo|tuve|tome|conmigo|nosotr\w*|nos|nuestr\w*|"
    r"ella|le|su|sus|alguien|marido|esposo|"
    r"esposa|mujer|hij[oa]s?|padre|madre|papa|mama|amig[oa]s?|novi[oa]|pareja|bebe|nin[oa]|"
    r"herman[oa]|abuel[oa])\b"
)
GENERAL = (
    r"\b(trials?|ensayos?|estudios?|investigaci\w*|notific\w*|report\w*|comunica\w*|efectos "
    r"(secundarios|adversos)|definicion|significa|riesgos?|tasas?|estadisticas?|participantes?|"
    r"pacientes|voluntarios|la gente|personas|en general|normalmente|habitualmente|sintomas|"
    r"signos|causas?|prevencion|protocolos?|que es|que son)\b"
)
CONSENT = (
    r"\b(participar|entrar|apunt\w*|inscrib\w*|elegible|consent\w*|permiso|autoriz\w*|"
    r"decidir por)\b.*\b(ensayo|estudio|investigacion)|"
    r"\b(ensayo|estudio|investigacion)\w*\b.*\b(participar|consent\w*|permiso|autoriz\w*|"
    r"elegible)\b"
)

_DRUG = (
    r"(medicamentos?|medicinas?|medicacion(es)?|pastillas?|pastis|comprimidos?|capsulas?|"
    r"tabletas?|inyecci\w*|pinchazos?|vacunas?|infusion(es)?|dosis|tratamientos?|farmacos?|"
    r"parches?|productos?|terapias?|inhalador(es)?|cremas?)"
)
_OWN_DRUG = (
    rf"(\b{_DRUG}( \w+)? (del|de la|de mi|de este|de esta|para el) (ensayo|estudio)\b|"
    rf"\b{_DRUG} (experimental(es)?|en estudio|del protocolo|en investigacion)\b)"
)
_IN_TRIAL = (
    r"\b((durante|en) (el|mi|este) (ensayo|estudio)|(estoy|participo|estoy participando|"
    r"me han metido|me metieron|entre) (en|a) (un|el|este|mi|una) (\w+ ){0,2}(ensayo|estudio)|"
    r"desde (que (empece|entre en|empezo)|el inicio de|el comienzo de) (el |del |mi )?"
    r"(ensayo|estudio))\b"
)
_OWN_TRIAL = rf"({_OWN_DRUG}|{_IN_TRIAL})"
_AFTER = (
    r"(?!.*\b((despues|al final|tras) (de |del )?(el |mi )?(ensayo|estudio)|(ensayo|estudio) "
    r"(termine|acabe|haya terminado|termina|acaba)))"
)
_NOT_GENERAL = (
    r"(?!.*\b(un participante|los participantes|alguien|que pasa si|se puede|que hago si|"
    r"que debo hacer si|y si|quien paga|indemniz\w*|anticoncep\w*)\b)"
)
_REPORT = (
    r"\b(a quien|donde|a donde|con quien)\b.*\b(aviso|avisar|digo|decir|comunic\w*|report\w*|"
    r"notific\w*|llamo|llamar|informo|informar|contacto|contactar)\b|\b(notific\w*|report\w*|"
    r"comunicar\w*)\b"
)
_NOT_REPORT = rf"^(?!.*(?:{_REPORT}))"
_HAS_PERSON = rf"(?=.*{PERSON})"
_SYMPTOM = (
    r"(mal|malestar|mare\w*|nausea\w*|vomit\w*|dolor(es)?|duele|duelen|jaqueca|migrana|fiebre|"
    r"sarpullido|"
    r"ronchas|granos|picor|pica|hinchad\w*|hinchazon|moratones|cansad\w*|agotad\w*|diarrea|"
    r"temblor\w*|hormigueo|raro|rara|fatal|enferm[oa]s?|efectos (secundarios|adversos))"
)
_ASK = (
    r"\b((puedo|podria|debo|deberia|tengo que|es (seguro|peligroso|malo|grave|normal)|"
    r"esta bien|pasa algo si) (\w+ )?(tomar|tomarme|beber|mezclar|combinar|dejar|saltarme|"
    r"saltar|cambiar|dar|darle|doblar|aumentar|bajar|reducir|usar|comer|ponerme|tomando))\b"
)
_MEDICINE = (
    r"(medicamentos?|medicinas?|medicacion|pastillas?|pastis|comprimidos?|capsulas?|dosis|"
    r"tratamientos?|quimio\w*|insulina|inhalador|ventolin|antibioticos?|ibuprofeno|paracetamol|"
    r"aspirina|nolotil|gelocatil|antiinflamatorios?|analgesicos?|calmantes?|corticoides?|"
    r"antidepresivos?|ansioliticos?|antihistaminicos?|estatinas?|sintrom|anticoagulantes?|"
    r"vitaminas?|suplementos?|vacunas?|anticonceptiv\w*)"
)
_ALSO = (
    rf"({_MEDICINE[1:-1]}|alcohol|vino|cerveza|una copa|cubata|pomelo|cafe|porros?|marihuana|"
    r"cbd|hierbas|infusiones|otros? (medicamentos|farmacos))"
)

RULES: list[tuple[str, str] | tuple[str, str, bool]] = [
    (
        SELF_HARM,
        r"\b(suicidar(me|se)|me (quiero|voy a) suicidar|suicidas?\b|ideacion suicida|"
        r"intento de suicidio|(quiero|voy a|pienso en|pensando en|ganas de|me gustaria|como) "
        r"(matarme|quitarme la vida|suicidarme|ahorcarme|tirarme|cortarme|hacerme dano)|"
        r"me (quiero|voy a) (matar|ahorcar|tirar)\b|quitarme la vida|"
        r"acabar con (mi vida|todo|todo esto|esto de una vez)|"
        r"no (quiero|tengo ganas de|puedo) (seguir )?(vivir|viviendo)|"
        r"ya no quiero (vivir|estar aqui|seguir)|"
        r"(quiero|quisiera|ganas de|prefiero|preferiria) (morir|morirme|estar muert[oa]|"
        r"desaparecer para siempre)|ojala (estuviera muert\w*|no despertar|no haber nacido)|"
        r"(me hago|hacerme|me hice|me estoy haciendo) (dano|cortes)|"
        r"(me corto|cortarme) (los brazos|las venas|las munecas)|me corto\W*$|"
        r"(tirarme|lanzarme|saltar) (de|desde|por) (un|el|la|una) (puente|edificio|ventana|"
        r"balcon|azotea|terraza)|(tirarme|lanzarme) (al|bajo el|delante del|a las vias del) "
        r"(tren|metro|coche)|"
        r"(pastillas|pastis|medicamentos)( \w+){0,3} (guardadas|acumuladas|ahorradas|"
        r"escondidas|guardados|acumulados)|(guardando|acumulando|juntando) (\w+ )?(pastillas|"
        r"medicamentos)|"
        r"cuant(a|o)s? (\w+ ){0,3}(pastillas|pastis|comprimidos|paracetamol|ibuprofeno)"
        r"( \w+){0,4} (para morir|para no despertar|son mortales|me matarian)|"
        r"para (poder )?morir(me)?\b|"
        r"(soy|me siento) una carga|(estarian|estaria|estarias) mejor sin mi|mejor sin mi\b|"
        r"(no vale|ya no vale) la pena (vivir|seguir)|(la vida|vivir) no (tiene|vale) (sentido|"
        r"la pena)|(no tiene|sin) sentido (vivir|seguir viviendo)|"
        r"(no tengo|ninguna|sin) razon(es)? para vivir|"
        r"(dormirme|dormir) y no despertar|no despertar(me)? (nunca )?mas|carta de despedida|"
        r"me he despedido de todos|(ya )?no (puedo|aguanto) mas\W*$|"
        r"no aguanto (mas )?(esta vida|vivir)|nadie me (echaria|extranaria) de menos|"
        r"nadie (lo )?(notaria|se daria cuenta)|no estoy a salvo conmigo|"
        r"quiero que todo (esto )?(se acabe|termine))",
        False,
    ),
    (
        SELF_HARM,
        r"^(?!.*((prevencion|investigacion|tasas?|estadisticas?) (del|de|sobre el) suicidio)).*"
        r"\bsuicidio\b|autolesi\w*",
        True,
    ),
    (
        EMERGENCY,
        r"\b(no (puedo|puede|podia|consigo|consigue) respirar|(me|le) cuesta (mucho )?respirar|"
        r"dificultad(es)? para respirar|respira (mal|con dificultad)|no respira|"
        r"(dejo|ha dejado) de respirar|me ahogo|se ahoga|ahogando(me|se)|"
        r"(me|le) falta (el )?aire|no me entra (el )?aire|falta de aire|"
        r"dolor (en el|de|del) pecho|(me|le) duele (mucho )?el pecho|(opresion|presion|peso) en el "
        r"pecho|pecho (apretado|oprimido)|dolor (en el|del) brazo izquierdo|"
        r"(dando|da|dio|teniendo|tiene|tengo) (un|una) (infarto|ataque al corazon|ictus|derrame|"
        r"convulsion|ataque epileptico|paro cardiaco|shock anafilactico)|"
        r"(cara|boca) (torcida|caida|paralizada|desviada)|se le (cae|tuerce) (la cara|la boca)|"
        r"(un|el) lado de la cara|(habla|hablando) (raro|rara|arrastrando)|"
        r"arrastra las palabras|no (puede|puedo) hablar bien|brazo (dormido|paralizado|"
        r"sin fuerza|entumecido)|"
        r"(tomo|tomado|tome|trago|tragado|trague) (demasiadas|un monton de|toda la caja de|"
        r"un bote de|una caja de|todas las) (\w+ )?(pastillas|pastis|comprimidos|medicinas|"
        r"medicamentos|capsulas|paracetamol)|demasiadas (pastillas|pastis|comprimidos)|"
        r"(tomo|trago|tome|trague) (toda la caja|un bote|el bote|la caja|un blister)|"
        r"(bebio|bebido|tomo|trago) (lejia|veneno|amoniaco|desatascador|lavavajillas)|"
        r"pila de boton|"
        r"(garganta|lengua|labios|cara|boca|parpados) (se (me|le) )?(esta(n)? )?(cerrando|"
        r"cierra|hinchad\w*|hincha\w*)|se (me|le) (cierra|hincha|esta cerrando|esta hinchando) "
        r"(la garganta|la lengua|los labios|la cara)|"
        r"se (ha )?desmay\w*|desmayad\w*|(perdio|perdido) el conocimiento|sin conocimiento|"
        r"no se despierta|(el|ella|mi \w+|papa|mama|abuel[oa]|bebe|hij[oa]|marido|"
        r"mujer)( \w+){0,3} "
        r"no (reacciona|responde|contesta)(?! (a|al) )|se (ha )?desplomado|"
        r"convulsionando|ataque epileptico|"
        r"sangra (mucho|muchisimo|sin parar|a chorros)|no (para|deja) de sangrar|"
        r"sangre por todas partes|sangrando mucho|"
        r"(llamar|llamo|llamad|llama|llamen|pedir) (a )?(una )?(ambulancia|al 112|el 112|al 061|"
        r"emergencias)|es una (emergencia|urgencia)|"
        r"labios (azules|morados)|(se esta poniendo|se pone|se puso) (azul|morad\w*)|"
        r"peor dolor de cabeza)",
        False,
    ),
    (EMERGENCY, r"^\W*(emergencia|urgencia|socorro)\W*$", False),
    (
        EMERGENCY,
        r"\b(dolor toracico|infarto|ataque al corazon|paro cardiaco|ictus|derrame cerebral|"
        r"sobredosis|intoxica\w*|envenena\w*|reaccion alergica|anafila\w*|shock alergico|epipen|"
        r"inconsciente|hemorragia|convulsion(es)?)\b",
        True,
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_NOT_GENERAL}(?=.*{_OWN_TRIAL})(?=.*\b(olvide|olvido|olvidado|se me olvido|"
        r"se me paso|me salte|salte|saltado|no (me )?tome|(tome|tomado|tomo|he tomado) "
        r"(dos veces|doble|dos dosis|la dosis dos veces)|dosis doble|doble dosis|vomite|"
        rf"vomitado|vomito|por error|sin querer)\b)(?=.*\b({_DRUG[1:-1]}|tomarla|tomarlas|"
        r"tomarlo|tomarlos)\b)",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_NOT_GENERAL}(?=.*\b(dejar|dejarlo|dejarla|deje|parar|pare|suspender|suspendi|"
        r"abandonar|no (quiero|pienso) (seguir )?tomar|no tomar mas|ya no (quiero|tomo)|"
        rf"saltarme|me salto|bajar|reducir|cambiar|no quiero)\b.*{_OWN_DRUG})",
    ),
    (
        TRIAL_TREATMENT,
        rf"^{_NOT_GENERAL}(?=.*\b(cuant(o|a|os|as)|que dosis|la dosis (correcta|adecuada))\b)"
        rf"(?=.*{_OWN_DRUG})(?=.*\b(tomo|tomar|tomarme|debo|tengo|me|mi|le|doy)\b)",
    ),
    (TRIAL_TREATMENT, rf"^{_AFTER}(?=.*{_ASK})(?=.*{_OWN_DRUG})"),
    (TRIAL_TREATMENT, rf"^{_AFTER}{_NOT_GENERAL}(?=.*{_ASK})(?=.*{_IN_TRIAL})(?=.*\b{_ALSO}\b)"),
    (
        TRIAL_TREATMENT,
        rf"{_NOT_REPORT}(?!.*\b(si (me quedo|estoy|quedo)|que pasa si|pueden las|las embarazadas|"
        r"mujeres embarazadas|quiero quedarme|quisiera quedarme|planeo|buscando)\b)"
        r"(?=.*\b(estoy|me quede|me he quedado|mi (mujer|pareja|novia|esposa)|(test|prueba) de "
        r"embarazo)\b)(?=.*\bembaraz\w*)"
        rf"(?=.*{_OWN_TRIAL})",
    ),
    (
        TRIAL_TREATMENT,
        rf"{_NOT_REPORT}{_NOT_GENERAL}(?=.*\b(me|tengo|estoy|siento|le|mi|he)\b)"
        rf"(?=.*\b{_SYMPTOM}\b)(?=.*{_OWN_TRIAL})",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_AFTER}(?=.*\b(puedo|podria|debo|deberia|tengo que|es (malo|peligroso|seguro)) "
        r"(\w+ )?(tomar|tomarme|dejar|dejar de tomar|aumentar|bajar|reducir|doblar|mezclar|"
        rf"combinar|beber|darle|dar|cambiar|saltarme|seguir tomando)\b.*\b{_MEDICINE}\b)",
    ),
    (
        MEDICAL_ADVICE,
        r"\b(cuant(o|a|os|as) (\w+ ){0,2}(puedo|debo|le puedo|le doy|tengo que) (tomar|dar|"
        r"darle)|que dosis (de \w+ )?(le doy|tomo|debo|para mi)|"
        r"(que|cual) (tratamiento|medicamento|pastilla|medicina) (es (mejor|el mejor|la mejor|"
        r"mas segur[oa])|me (recomiendas|recomienda|conviene)|debo tomar|tomo)|"
        r"(mejor|mas segur[oa]) para mi\b|(deberia|debo|me conviene) (participar|apuntarme|"
        r"entrar|meterme) en (este|ese|el) (ensayo|estudio)|(deberia|debo) operarme|"
        r"es (seguro|peligroso) para mi|(puedes|puede|podrias|podria) diagnosticarme|"
        r"que tengo\W*$)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_NOT_GENERAL}{_HAS_PERSON}(?=.*\b({_SYMPTOM[1:-1]}|tension|azucar|glucosa|analitica|"
        rf"resultados?|"
        r"bulto|lunar|tos)\b)(?=.*\b(es (grave|normal|peligroso|preocupante)|me (tengo que|debo) "
        r"preocupar|debo preocuparme|que hago|que debo hacer|que tengo que hacer)\b)",
    ),
]

# More wordings, from the way people write them (data/nlu/es/safety.yml and its held-out set).
RULES += [
    (
        SELF_HARM,
        r"\b((quiero|quisiera|ganas de) (dejar de existir|desaparecer)\b|"
        r"no (puedo|aguanto) mas con (esto|todo|esta vida)|"
        r"para (matarme|suicidarme)\b|me (quemo|corto|lastimo|hago cortes) para\b|"
        r"para que (seguir )?vivir|ojala no (existiera|hubiera nacido|despertara|estuviera aqui)|"
        r"no despertarme (manana|mas|nunca)|(desearia|deseo|quisiera|quiero) estar muert[oa]|"
        r"(no le veo|no tiene|sin) sentido (a la vida|a vivir|vivir)|"
        r"no (le )?veo sentido a (la vida|vivir|seguir)|quitarme de en medio|"
        r"no quiero seguir( asi| viviendo| adelante)?\W*$)",
    ),
    (
        EMERGENCY,
        r"\b(dolor (\w+ ){0,2}(en el|de|del) pecho|"
        r"(esta|quedo) (tirad[oa] )?en el suelo y no (contesta|responde|reacciona|se mueve)|"
        r"(caido|caida|golpe\w*|dado en la cabeza)\b.*\bno (responde|reacciona|contesta|se mueve)|"
        r"se (me|le) ha (torcido|caido) la (cara|boca)|no (puede|puedo) (levantar|mover) el brazo)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_AFTER}(?=.*\b(puedo|podria|debo|deberia|tengo que) (\w+ )?(subir|tomar)\b)"
        rf"(?=.*\b({_MEDICINE[1:-1]}|paracetamoles|ibuprofenos)\b)",
    ),
    (
        MEDICAL_ADVICE,
        r"\b(me conviene (este|ese|el|participar|entrar|apuntarme)|me apunto a (este|ese|el)|"
        rf"me (recomiendas|recomienda|aconsejas|aconseja|recomiendan|recomendarias) (\w+ ){{0,2}}"
        rf"(tomar|quimio|{_MEDICINE[1:-1]})\b|"
        r"que dosis (de \w+ )?(tengo que|me tomo|necesito)|diagnostica (mis|mi)\b|diagnosticarme|"
        r"diagnosticame|me opero\b|"
        r"operarme o\b|\bque (me tomo|puedo tomar|debo tomar|le doy|le puedo dar)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_NOT_GENERAL}(?!.*\b(ensayos?|estudios?)\b)(?=.*\bes (normal|grave|peligroso|malo) "
        rf"(tener|que me|que tenga|sentir)\b)(?=.*\b({_SYMPTOM[1:-1]}|azucar|tension|"
        rf"colesterol)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_NOT_GENERAL}(?=.*\b(\d|me|mi|mis|tengo|debo|esta|este)\b)(?=.*\b({_SYMPTOM[1:-1]}|"
        r"tension|azucar|glucosa|analitica|analisis|colesterol|resultados?|bulto|lunar|tos)\b)"
        r"(?=.*\b(es (grave|normal|peligroso|preocupante|malo)|(son|es|esta|estan) (normal(es)?|"
        r"alt[oa]s?|baj[oa]s?)|debo preocuparme|me (tengo que|debo) preocupar|que hago|"
        r"(las|los|la|lo) dejo|dejo de tomarl\w*)\b)",
    ),
    (
        MEDICAL_ADVICE,
        rf"^{_HAS_PERSON}(?=.*\b\d+ ?(mg|ml|miligramos|unidades|pastillas)\b)"
        r"(?=.*\b(demasiad[oa]s?|mucho|poco|suficiente)\b)",
    ),
]
