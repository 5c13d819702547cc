//! The words of European business mail that tandem reads, one row per language: how mail
//! clients introduce a quoted original ("a écrit", "ha scritto"), the header names of the
//! original's block (From/Sent/Date/To/Subject), the "original message" separators, the lines
//! mobile and webmail apps add, yes and no, and how out-of-office replies announce themselves.
//!
//! This is data, not code: the detectors in `reply::quotes`, `reply::signature`,
//! `survey::answers` and `inbound::message` read [`LANGUAGES`] and know no language of their
//! own beyond it (the English and German attribution structures of `quotes.rs` and a few
//! English and German phrases of the others, tuned against prose that looks like them, are
//! the exception, and say so). A language is added
//! by adding a row; `tests` below hold every row to the shape the detectors expect.
//!
//! Every word is written lower-case (detectors fold a bounded piece of a line to lower case
//! before comparing); apostrophes are straight (`'`), and detectors straighten curly ones.

/// One language's row.
#[derive(Debug, Clone, Copy)]
pub struct Language {
    /// ISO 639-1.
    pub code: &'static str,
    /// What the verbs of attribution look like in it, lower-case, as whole words: the third
    /// person a mail client writes ("a écrit", never "j'ai écrit"). Empty for English and
    /// German, whose attributions `quotes.rs` reads by their structure.
    pub wrote: &'static [&'static str],
    /// The words a writer uses of themselves, lower-case: a line with one is never an
    /// attribution ("Op 3 maart 2026 schreef ik:").
    pub first_person: &'static [&'static str],
    /// Header names of an original's block (Outlook, webmail, forwards), lower-case, without
    /// the colon: the sender, ...
    pub from: &'static [&'static str],
    /// ... the date it was sent ("Sent", "Date"), ...
    pub sent: &'static [&'static str],
    /// ... the recipients and the rest, which belong to a block but never make one, ...
    pub to: &'static [&'static str],
    /// ... and the subject.
    pub subject: &'static [&'static str],
    /// What the dashed separators above an original or forwarded message say, lower-case
    /// ("-----Message d'origine-----").
    pub separators: &'static [&'static str],
    /// The undashed lines Apple Mail puts above a forwarded message, lower-case, without the
    /// closing colon.
    pub forward_intros: &'static [&'static str],
    /// The lines apps add, exactly as they write them ("Envoyé de mon iPhone"): looked for
    /// where HTML conversion glued them onto the end of a line of text.
    pub app_lines: &'static [&'static str],
    /// How a line an app adds begins, lower-case.
    pub app_starts: &'static [&'static str],
    /// How a line an app adds ends, where the verb comes last ("iPhone-ról küldve"),
    /// lower-case.
    pub app_ends: &'static [&'static str],
    /// Whether a line matched by `app_starts`/`app_ends` must also name a device or an app
    /// ([`DEVICES`]): true for every language but English and German, whose starts are the
    /// long-tested ones ("sent from my ").
    pub app_needs_device: bool,
    /// Yes, as a word (lower-case).
    pub yes: &'static [&'static str],
    /// No, as a word (lower-case).
    pub no: &'static [&'static str],
    /// Words of `yes` or `no` that are also common words of another language ("da", "si"):
    /// they answer only when nothing but punctuation follows them ("Da, gerne", not "Da wir
    /// ...").
    pub alone: &'static [&'static str],
    /// "or", for "oui ou non", which answers neither.
    pub or: &'static [&'static str],
    /// Words that, after a `no`, make it no answer: "I do not know" ("no lo sé", "nie wiem").
    pub unsure: &'static [&'static str],
    /// Closing greetings, lower-case, whole ("cordialement", "met vriendelijke groet"): not
    /// part of a comment.
    pub closings: &'static [&'static str],
    /// How autoresponders begin a subject, lower-case, without the colon that must follow
    /// ("réponse automatique: …the original subject…").
    pub auto_subjects: &'static [&'static str],
    /// How autoresponders begin their text, lower-case: statements no person writes of their
    /// own mail ("ceci est une réponse automatique").
    pub auto_statements: &'static [&'static str],
}

/// Devices and apps, lower-case: a line of a non-English, non-German app start must name one
/// ("Lähetetty iPhonesta", not "Lähetetty laskut").
pub const DEVICES: &[&str] = &[
    "iphon",
    "ipad",
    "android",
    "galaxy",
    "samsung",
    "outlook",
    "huawei",
    "xiaomi",
    "pixel",
    "smartphone",
    "mobil",
    "telefon",
    "teléfono",
    "telefono",
    "телефон",
    "tablet",
    "ios",
    "mail",
    "yahoo",
    "blackberry",
    "fairphone",
    "windows",
];

/// The languages read, in the order they are tried (none depends on the order).
pub const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        wrote: &[],
        first_person: &["i", "we"],
        from: &["from"],
        sent: &["sent", "date"],
        to: &["to", "cc", "bcc", "reply-to"],
        subject: &["subject"],
        separators: &["original message", "forwarded message"],
        forward_intros: &["begin forwarded message"],
        app_lines: &[
            "Sent from my iPhone",
            "Sent from my iPad",
            "Sent from my Android",
            "Sent from Outlook for iOS",
            "Sent from Outlook for Android",
            "Sent from Outlook",
            "Get Outlook for iOS",
            "Get Outlook for Android",
            "Sent from Mail for Windows",
            "Sent from Mail for Windows 10",
        ],
        app_starts: &[
            "sent from my ",
            "sent from outlook",
            "sent from mail for windows",
            "sent from yahoo mail",
            "sent from samsung",
            "sent via the samsung",
            "sent from proton mail",
            "sent with proton mail",
            "sent with protonmail",
            "sent with the gmx mail app",
            "sent with the web.de mail app",
            "get outlook for ios",
            "get outlook for android",
        ],
        app_ends: &[],
        app_needs_device: false,
        yes: &["yes"],
        no: &["no"],
        alone: &[],
        or: &["or", "and"],
        unsure: &[],
        closings: &[],
        auto_subjects: &[
            "out of office",
            "out of office reply",
            "out-of-office",
            "automatic reply",
            "auto reply",
            "autoreply",
            "auto-reply",
            "auto response",
            "automatic response",
        ],
        auto_statements: &[
            "this is an automatic reply",
            "this is an automated reply",
            "this is an automatic response",
            "this is an automated response",
            "this is an auto-reply",
            "this is an automatically generated",
            "automatic reply:",
        ],
    },
    Language {
        code: "de",
        wrote: &[],
        first_person: &["ich", "wir"],
        from: &["von"],
        sent: &["gesendet", "datum"],
        to: &["an", "cc", "bcc", "kopie", "antwort an"],
        subject: &["betreff"],
        separators: &[
            "ursprüngliche nachricht",
            "original-nachricht",
            "originalnachricht",
            "original nachricht",
            "weitergeleitete nachricht",
        ],
        forward_intros: &["anfang der weitergeleiteten nachricht"],
        app_lines: &[
            "Von meinem iPhone gesendet",
            "Von meinem iPad gesendet",
            "Gesendet von meinem iPhone",
            "Gesendet von meinem iPad",
            "Von Outlook für iOS gesendet",
            "Von Outlook für Android gesendet",
            "Gesendet mit der GMX Mail App",
            "Gesendet mit der WEB.DE Mail App",
        ],
        app_starts: &[
            "gesendet von meinem ",
            "gesendet mit der gmx mail app",
            "gesendet mit der web.de mail app",
            "gesendet von outlook",
            "gesendet von mail für windows",
            "outlook für ios herunterladen",
            "outlook für android herunterladen",
            "diese nachricht wurde von meinem ",
        ],
        app_ends: &[],
        app_needs_device: false,
        yes: &["ja"],
        no: &["nein"],
        alone: &[],
        or: &["oder", "und"],
        unsure: &[],
        closings: &[],
        auto_subjects: &[
            "automatische antwort",
            "abwesenheitsnotiz",
            "abwesenheitsmeldung",
            "automatische abwesenheitsnotiz",
            "automatische rückantwort",
            "abwesenheitsassistent",
        ],
        auto_statements: &[
            "dies ist eine automatische antwort",
            "dies ist eine automatisch generierte",
            "das ist eine automatische antwort",
            "dies ist eine abwesenheitsnotiz",
            "automatische antwort:",
            "abwesenheitsnotiz:",
            "diese nachricht wurde automatisch",
            "diese e-mail wurde automatisch",
        ],
    },
    Language {
        code: "fr",
        wrote: &["a écrit"],
        first_person: &["je", "j'ai", "nous", "moi"],
        from: &["de", "expéditeur"],
        sent: &["envoyé", "date"],
        to: &["à", "cc", "cci", "répondre à"],
        subject: &["objet"],
        separators: &["message d'origine", "message original", "message transféré"],
        forward_intros: &["début du message réexpédié", "début du message transféré"],
        app_lines: &[
            "Envoyé de mon iPhone",
            "Envoyé de mon iPad",
            "Envoyé depuis mon iPhone",
            "Envoyé de mon appareil Galaxy",
            "Obtenir Outlook pour iOS",
            "Obtenir Outlook pour Android",
        ],
        app_starts: &[
            "envoyé de mon ",
            "envoyé depuis mon ",
            "envoyé à partir de ",
            "envoyé de ",
            "envoyé depuis ",
            "obtenir outlook pour ",
            "télécharger outlook pour ",
        ],
        app_ends: &[],
        app_needs_device: true,
        yes: &["oui", "si"],
        no: &["non"],
        alone: &["si"],
        or: &["ou", "et"],
        unsure: &["sais"],
        closings: &[
            "cordialement",
            "bien cordialement",
            "bien à vous",
            "bonne journée",
            "merci",
            "merci beaucoup",
            "salutations",
            "meilleures salutations",
            "sincères salutations",
        ],
        auto_subjects: &[
            "réponse automatique",
            "réponse automatique d'absence",
            "absent du bureau",
            "absence du bureau",
            "message d'absence",
        ],
        auto_statements: &[
            "ceci est une réponse automatique",
            "ceci est un message automatique",
            "ceci est un message d'absence",
            "réponse automatique :",
            "réponse automatique:",
        ],
    },
    Language {
        code: "it",
        wrote: &["ha scritto", "scrive"],
        first_person: &["io", "ho", "noi", "abbiamo"],
        from: &["da", "mittente"],
        sent: &["inviato", "data"],
        to: &["a", "cc", "ccn"],
        subject: &["oggetto"],
        separators: &["messaggio originale", "messaggio inoltrato"],
        forward_intros: &["inizio messaggio inoltrato"],
        app_lines: &[
            "Inviato da iPhone",
            "Inviato da iPad",
            "Inviato dal mio iPhone",
            "Inviato dal mio smartphone Samsung Galaxy",
            "Scarica Outlook per iOS",
            "Scarica Outlook per Android",
        ],
        app_starts: &[
            "inviato da ",
            "inviato dal mio ",
            "inviato tramite ",
            "scarica outlook per ",
            "ottieni outlook per ",
        ],
        app_ends: &[],
        app_needs_device: true,
        yes: &["sì", "si"],
        no: &["no"],
        alone: &["si"],
        or: &["o", "e", "oppure"],
        unsure: &["lo"],
        closings: &[
            "cordiali saluti",
            "distinti saluti",
            "saluti",
            "un saluto",
            "buona giornata",
            "grazie",
            "grazie mille",
        ],
        auto_subjects: &[
            "risposta automatica",
            "fuori sede",
            "fuori ufficio",
            "risposta automatica di assenza",
        ],
        auto_statements: &[
            "questa è una risposta automatica",
            "questo è un messaggio automatico",
            "risposta automatica:",
        ],
    },
    Language {
        code: "es",
        wrote: &["escribió", "escribio"],
        first_person: &["yo", "escribí", "nosotros"],
        from: &["de", "remitente"],
        sent: &["enviado", "enviado el", "fecha"],
        to: &["para", "cc", "cco"],
        subject: &["asunto"],
        separators: &["mensaje original", "mensaje reenviado"],
        forward_intros: &[
            "inicio del mensaje reenviado",
            "comienzo del mensaje reenviado",
        ],
        app_lines: &[
            "Enviado desde mi iPhone",
            "Enviado desde mi iPad",
            "Enviado desde mi smartphone Samsung Galaxy",
            "Obtener Outlook para iOS",
            "Obtener Outlook para Android",
        ],
        app_starts: &[
            "enviado desde mi ",
            "enviado desde ",
            "obtener outlook para ",
            "descargar outlook para ",
        ],
        app_ends: &[],
        app_needs_device: true,
        yes: &["sí", "si"],
        no: &["no"],
        alone: &["si"],
        or: &["o", "y"],
        unsure: &["lo", "sé", "se"],
        closings: &[
            "saludos",
            "un saludo",
            "saludos cordiales",
            "atentamente",
            "gracias",
            "muchas gracias",
            "un abrazo",
        ],
        auto_subjects: &[
            "respuesta automática",
            "respuesta automatica",
            "fuera de la oficina",
        ],
        auto_statements: &[
            "esta es una respuesta automática",
            "este es un mensaje automático",
            "respuesta automática:",
        ],
    },
    Language {
        code: "pt",
        wrote: &["escreveu"],
        first_person: &["eu", "escrevi", "nós"],
        from: &["de"],
        sent: &["enviado", "enviada", "data"],
        to: &["para", "cc", "cco"],
        subject: &["assunto"],
        separators: &["mensagem original", "mensagem encaminhada"],
        forward_intros: &[
            "início da mensagem reencaminhada",
            "início da mensagem encaminhada",
        ],
        app_lines: &[
            "Enviado do meu iPhone",
            "Enviado do meu iPad",
            "Enviado do meu smartphone Samsung Galaxy",
            "Obter o Outlook para iOS",
            "Obter o Outlook para Android",
        ],
        app_starts: &[
            "enviado do meu ",
            "enviado do ",
            "enviado de ",
            "obter o outlook para ",
            "baixe o outlook para ",
        ],
        app_ends: &[],
        app_needs_device: true,
        yes: &["sim"],
        no: &["não", "nao"],
        alone: &[],
        or: &["ou", "e"],
        unsure: &["sei"],
        closings: &[
            "atenciosamente",
            "cumprimentos",
            "com os melhores cumprimentos",
            "abraços",
            "um abraço",
            "obrigado",
            "obrigada",
        ],
        auto_subjects: &[
            "resposta automática",
            "resposta automatica",
            "ausência temporária",
            "fora do escritório",
        ],
        auto_statements: &[
            "esta é uma resposta automática",
            "esta é uma mensagem automática",
            "resposta automática:",
        ],
    },
    Language {
        code: "nl",
        wrote: &["schreef", "het volgende geschreven"],
        first_person: &["ik", "wij", "we", "ons", "mij"],
        from: &["van", "afzender"],
        sent: &["verzonden", "datum"],
        to: &["aan", "cc", "bcc"],
        subject: &["onderwerp"],
        separators: &[
            "oorspronkelijk bericht",
            "origineel bericht",
            "doorgestuurd bericht",
        ],
        forward_intros: &["begin doorgestuurd bericht"],
        app_lines: &[
            "Verzonden vanaf mijn iPhone",
            "Verzonden vanaf mijn iPad",
            "Verstuurd vanaf mijn iPhone",
            "Outlook voor iOS downloaden",
            "Outlook voor Android downloaden",
        ],
        app_starts: &[
            "verzonden vanaf mijn ",
            "verstuurd vanaf mijn ",
            "verzonden vanuit ",
            "verzonden met ",
            "outlook voor ",
        ],
        app_ends: &[],
        app_needs_device: true,
        yes: &["ja"],
        no: &["nee"],
        alone: &[],
        or: &["of", "en"],
        unsure: &["weet"],
        closings: &[
            "met vriendelijke groet",
            "met vriendelijke groeten",
            "vriendelijke groet",
            "groeten",
            "groetjes",
            "hartelijke groet",
            "bedankt",
            "dank je wel",
        ],
        auto_subjects: &["automatisch antwoord", "afwezigheidsbericht"],
        auto_statements: &[
            "dit is een automatisch antwoord",
            "dit is een automatisch gegenereerd",
            "automatisch antwoord:",
        ],
    },
    Language {
        code: "pl",
        wrote: &["napisał", "napisała", "pisze", "napisana przez"],
        first_person: &["ja", "my", "napisałem", "napisałam"],
        from: &["od", "nadawca"],
        sent: &["wysłano", "wysłane", "data"],
        to: &["do", "dw", "kopia"],
        subject: &["temat"],
        separators: &[
            "wiadomość oryginalna",
            "oryginalna wiadomość",
            "wiadomość przekazana dalej",
            "przekazana wiadomość",
        ],
        forward_intros: &["początek przekazywanej wiadomości"],
        app_lines: &[
            "Wysłane z iPhone'a",
            "Wysłane z mojego iPhone'a",
            "Wysłano z iPhone'a",
            "Pobierz aplikację Outlook dla systemu iOS",
        ],
        app_starts: &["wysłane z ", "wysłano z ", "pobierz aplikację outlook dla "],
        app_ends: &[],
        app_needs_device: true,
        yes: &["tak"],
        no: &["nie"],
        alone: &[],
        or: &["lub", "albo", "czy", "i"],
        unsure: &["wiem"],
        closings: &[
            "pozdrawiam",
            "z poważaniem",
            "pozdrawiam serdecznie",
            "serdecznie pozdrawiam",
            "dziękuję",
        ],
        auto_subjects: &[
            "automatyczna odpowiedź",
            "odpowiedź automatyczna",
            "poza biurem",
        ],
        auto_statements: &[
            "to jest automatyczna odpowiedź",
            "ta wiadomość została wygenerowana automatycznie",
            "automatyczna odpowiedź:",
        ],
    },
    Language {
        code: "sv",
        wrote: &["skrev"],
        first_person: &["jag", "vi", "oss", "mig"],
        from: &["från", "avsändare"],
        sent: &["skickat", "datum"],
        to: &["till", "kopia"],
        subject: &["ämne"],
        separators: &[
            "ursprungligt meddelande",
            "originalmeddelande",
            "vidarebefordrat meddelande",
        ],
        forward_intros: &[
            "vidarebefordrat brev",
            "början på vidarebefordrat meddelande",
        ],
        app_lines: &[
            "Skickat från min iPhone",
            "Skickat från min iPad",
            "Skaffa Outlook för iOS",
            "Skaffa Outlook för Android",
        ],
        app_starts: &["skickat från min ", "skickat från ", "skaffa outlook för "],
        app_ends: &[],
        app_needs_device: true,
        yes: &["ja"],
        no: &["nej"],
        alone: &[],
        or: &["eller", "och"],
        unsure: &["vet"],
        closings: &[
            "med vänliga hälsningar",
            "vänliga hälsningar",
            "hälsningar",
            "mvh",
            "tack",
            "tack så mycket",
        ],
        auto_subjects: &["autosvar", "automatiskt svar", "frånvaromeddelande"],
        auto_statements: &[
            "detta är ett automatiskt svar",
            "det här är ett automatiskt svar",
            "autosvar:",
        ],
    },
    Language {
        code: "da",
        wrote: &["skrev"],
        first_person: &["jeg", "vi", "os", "mig"],
        from: &["fra", "afsender"],
        sent: &["sendt", "dato"],
        to: &["til", "cc"],
        subject: &["emne"],
        separators: &[
            "oprindelig meddelelse",
            "original meddelelse",
            "videresendt meddelelse",
            "videresendt besked",
        ],
        forward_intros: &["videresendt besked", "start på videresendt besked"],
        app_lines: &[
            "Sendt fra min iPhone",
            "Sendt fra min iPad",
            "Hent Outlook til iOS",
            "Hent Outlook til Android",
        ],
        app_starts: &["sendt fra min ", "sendt fra ", "hent outlook til "],
        app_ends: &[],
        app_needs_device: true,
        yes: &["ja"],
        no: &["nej"],
        alone: &[],
        or: &["eller", "og"],
        unsure: &["ved"],
        closings: &[
            "med venlig hilsen",
            "venlig hilsen",
            "mvh",
            "hilsen",
            "de bedste hilsner",
            "tak",
        ],
        auto_subjects: &["autosvar", "automatisk svar", "fraværende"],
        auto_statements: &["dette er et automatisk svar", "autosvar:"],
    },
    Language {
        code: "nb",
        wrote: &["skrev"],
        first_person: &["jeg", "vi", "oss", "meg"],
        from: &["fra", "avsender"],
        sent: &["sendt", "dato"],
        to: &["til", "kopi"],
        subject: &["emne"],
        separators: &[
            "opprinnelig melding",
            "original melding",
            "videresendt melding",
        ],
        forward_intros: &["videresendt melding", "start på videresendt melding"],
        app_lines: &[
            "Sendt fra min iPhone",
            "Sendt fra min iPad",
            "Få Outlook for iOS",
            "Få Outlook for Android",
        ],
        app_starts: &["sendt fra min ", "sendt fra ", "få outlook for "],
        app_ends: &[],
        app_needs_device: true,
        yes: &["ja"],
        no: &["nei"],
        alone: &[],
        or: &["eller", "og"],
        unsure: &["vet"],
        closings: &[
            "med vennlig hilsen",
            "vennlig hilsen",
            "mvh",
            "hilsen",
            "takk",
        ],
        auto_subjects: &["autosvar", "automatisk svar", "fraværende"],
        auto_statements: &["dette er et automatisk svar", "autosvar:"],
    },
    Language {
        code: "fi",
        wrote: &["kirjoitti"],
        first_person: &["minä", "me", "kirjoitin"],
        from: &["lähettäjä"],
        sent: &["lähetetty", "päivämäärä"],
        to: &["vastaanottaja", "kopio"],
        subject: &["aihe"],
        separators: &["alkuperäinen viesti", "välitetty viesti"],
        forward_intros: &["välitetty viesti alkaa"],
        app_lines: &[
            "Lähetetty iPhonesta",
            "Lähetetty iPadista",
            "Hanki Outlook for iOS",
            "Hanki Outlook for Android",
        ],
        app_starts: &["lähetetty ", "hanki outlook for "],
        app_ends: &[],
        app_needs_device: true,
        yes: &["kyllä", "joo"],
        no: &["ei"],
        alone: &[],
        or: &["tai", "vai", "ja"],
        unsure: &["tiedä"],
        closings: &[
            "ystävällisin terveisin",
            "terveisin",
            "parhain terveisin",
            "kiitos",
        ],
        auto_subjects: &[
            "automaattinen vastaus",
            "poissa toimistolta",
            "lomavastaaja",
        ],
        auto_statements: &["tämä on automaattinen vastaus", "automaattinen vastaus:"],
    },
    Language {
        code: "ru",
        wrote: &["написал", "написала", "пишет"],
        first_person: &["я", "мы"],
        from: &["от", "отправитель"],
        sent: &["отправлено", "дата"],
        to: &["кому", "копия"],
        subject: &["тема"],
        separators: &[
            "исходное сообщение",
            "пересылаемое сообщение",
            "пересланное сообщение",
            "оригинальное сообщение",
        ],
        forward_intros: &["начало переадресованного сообщения"],
        app_lines: &[
            "Отправлено с iPhone",
            "Отправлено с iPad",
            "Отправлено из мобильной Почты Mail.ru",
            "Получить Outlook для iOS",
        ],
        app_starts: &["отправлено с ", "отправлено из ", "получить outlook для "],
        app_ends: &[],
        app_needs_device: true,
        yes: &["да"],
        no: &["нет"],
        alone: &[],
        or: &["или", "и"],
        unsure: &["знаю"],
        closings: &[
            "с уважением",
            "с наилучшими пожеланиями",
            "всего доброго",
            "спасибо",
        ],
        auto_subjects: &[
            "автоматический ответ",
            "автоответ",
            "вне офиса",
            "нет на месте",
        ],
        auto_statements: &[
            "это автоматический ответ",
            "это сообщение создано автоматически",
            "автоматический ответ:",
        ],
    },
    Language {
        code: "cs",
        wrote: &["napsal", "napsala", "píše"],
        first_person: &["já", "jsem", "jsme", "my"],
        from: &["od", "odesílatel"],
        sent: &["odesláno", "datum"],
        to: &["komu", "kopie"],
        subject: &["předmět"],
        separators: &["původní zpráva", "přeposlaná zpráva"],
        forward_intros: &["začátek přeposlané zprávy"],
        app_lines: &[
            "Odesláno z iPhonu",
            "Odesláno z iPadu",
            "Odesláno z mobilu",
            "Stáhněte si Outlook pro iOS",
        ],
        app_starts: &["odesláno z ", "odesláno ze ", "stáhněte si outlook pro "],
        app_ends: &[],
        app_needs_device: true,
        yes: &["ano"],
        no: &["ne"],
        alone: &["ne"],
        or: &["nebo", "a"],
        unsure: &["vím"],
        closings: &[
            "s pozdravem",
            "s přátelským pozdravem",
            "děkuji",
            "díky",
            "hezký den",
        ],
        auto_subjects: &["automatická odpověď", "mimo kancelář"],
        auto_statements: &["toto je automatická odpověď", "automatická odpověď:"],
    },
    Language {
        code: "hu",
        wrote: &["írta", "ezt írta"],
        first_person: &["én", "mi", "írtam"],
        from: &["feladó"],
        sent: &["elküldve", "dátum"],
        to: &["címzett", "másolatot kap"],
        subject: &["tárgy"],
        separators: &["eredeti üzenet", "továbbított üzenet"],
        forward_intros: &["továbbított levél kezdete"],
        app_lines: &["iPhone-ról küldve", "iPhone-omról küldve", "iPadről küldve"],
        app_starts: &["küldve ", "az iphone-omról küldve"],
        app_ends: &["küldve", "küldve."],
        app_needs_device: true,
        yes: &["igen"],
        no: &["nem"],
        alone: &["nem"],
        or: &["vagy", "és"],
        unsure: &["tudom"],
        closings: &[
            "üdvözlettel",
            "tisztelettel",
            "üdv",
            "köszönöm",
            "szép napot",
        ],
        auto_subjects: &["automatikus válasz", "házon kívül", "irodán kívül"],
        auto_statements: &["ez egy automatikus válasz", "automatikus válasz:"],
    },
    Language {
        code: "tr",
        wrote: &["yazdı", "şunu yazdı"],
        first_person: &["ben", "biz", "yazdım"],
        from: &["kimden", "gönderen"],
        sent: &["gönderildi", "tarih"],
        to: &["kime", "bilgi"],
        subject: &["konu"],
        separators: &[
            "özgün ileti",
            "orijinal mesaj",
            "orijinal ileti",
            "iletilen ileti",
            "iletilen mesaj",
        ],
        forward_intros: &["iletilen ileti başlangıcı"],
        app_lines: &[
            "iPhone'umdan gönderildi",
            "iPhone'dan gönderildi",
            "iOS için Outlook'u edinin",
        ],
        app_starts: &["ios için outlook", "android için outlook"],
        app_ends: &["gönderildi", "gönderildi."],
        app_needs_device: true,
        yes: &["evet"],
        no: &["hayır", "hayir"],
        alone: &[],
        or: &["veya", "ya da", "ve"],
        unsure: &["bilmiyorum"],
        closings: &[
            "saygılarımla",
            "saygılarımızla",
            "iyi çalışmalar",
            "teşekkürler",
            "teşekkür ederim",
        ],
        auto_subjects: &["otomatik yanıt", "otomatik cevap", "ofis dışında"],
        auto_statements: &[
            "bu otomatik bir yanıttır",
            "bu bir otomatik yanıttır",
            "otomatik yanıt:",
        ],
    },
    Language {
        code: "el",
        wrote: &["έγραψε"],
        first_person: &["εγώ", "εμείς", "έγραψα"],
        from: &["από"],
        sent: &["στάλθηκε", "ημερομηνία"],
        to: &["προς", "κοιν"],
        subject: &["θέμα"],
        separators: &["αρχικό μήνυμα", "προωθημένο μήνυμα"],
        forward_intros: &["αρχή προωθημένου μηνύματος"],
        app_lines: &["Εστάλη από το iPhone μου", "Στάλθηκε από το iPhone μου"],
        app_starts: &["εστάλη από ", "στάλθηκε από "],
        app_ends: &[],
        app_needs_device: true,
        yes: &["ναι"],
        no: &["όχι", "οχι"],
        alone: &[],
        or: &["ή", "και"],
        unsure: &["ξέρω"],
        closings: &[
            "με εκτίμηση",
            "φιλικά",
            "ευχαριστώ",
            "με φιλικούς χαιρετισμούς",
        ],
        auto_subjects: &["αυτόματη απάντηση", "εκτός γραφείου"],
        auto_statements: &["αυτή είναι μια αυτόματη απάντηση", "αυτόματη απάντηση:"],
    },
    Language {
        code: "ro",
        wrote: &["a scris"],
        first_person: &["eu", "noi", "am scris"],
        from: &["de la"],
        sent: &["trimis", "data"],
        to: &["către", "cc"],
        subject: &["subiect"],
        separators: &["mesaj original", "mesaj redirecționat"],
        forward_intros: &["începutul mesajului redirecționat"],
        app_lines: &["Trimis de pe iPhone-ul meu", "Trimis de pe iPhone"],
        app_starts: &["trimis de pe ", "trimis din "],
        app_ends: &[],
        app_needs_device: true,
        yes: &["da"],
        no: &["nu"],
        alone: &["da", "nu"],
        or: &["sau", "și"],
        unsure: &["știu"],
        closings: &[
            "cu stimă",
            "cu drag",
            "toate cele bune",
            "mulțumesc",
            "o zi bună",
        ],
        auto_subjects: &["răspuns automat", "în afara biroului"],
        auto_statements: &["acesta este un răspuns automat", "răspuns automat:"],
    },
];

/// Every language's entries of one field, flattened.
pub fn all(
    field: impl Fn(&Language) -> &'static [&'static str],
) -> impl Iterator<Item = &'static str> {
    LANGUAGES.iter().flat_map(move |l| field(l).iter().copied())
}

/// `s` lower-case, with curly apostrophes straight and non-breaking spaces plain, when it is at
/// most `max` bytes long (the detectors compare short pieces only; longer ones are no marker).
pub fn fold(s: &str, max: usize) -> Option<String> {
    if s.len() > max {
        return None;
    }
    if s.is_ascii() && !s.contains('`') {
        return Some(s.to_ascii_lowercase());
    }
    let mut folded = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '’' | '‘' | '`' | '´' => folded.push('\''),
            '\u{a0}' | '\u{202f}' => folded.push(' '),
            c => folded.extend(c.to_lowercase()),
        }
    }
    Some(folded)
}

/// Whether `phrase` occurs in `folded` as whole words: neither a letter nor a digit touches it.
pub fn has_phrase(folded: &str, phrase: &str) -> bool {
    folded.match_indices(phrase).any(|(at, _)| {
        let before = folded[..at].chars().next_back();
        let after = folded[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_word(l: &Language) -> Vec<&'static str> {
        [
            l.wrote,
            l.first_person,
            l.from,
            l.sent,
            l.to,
            l.subject,
            l.separators,
            l.forward_intros,
            l.app_starts,
            l.app_ends,
            l.yes,
            l.no,
            l.alone,
            l.or,
            l.unsure,
            l.closings,
            l.auto_subjects,
            l.auto_statements,
        ]
        .concat()
    }

    #[test]
    fn at_least_fifteen_languages_besides_english_and_german() {
        let others = LANGUAGES
            .iter()
            .filter(|l| !["en", "de"].contains(&l.code))
            .count();
        assert!(others >= 15, "{others}");
        let mut codes: Vec<&str> = LANGUAGES.iter().map(|l| l.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), LANGUAGES.len(), "one row per language");
    }

    #[test]
    fn every_row_is_complete_and_written_as_the_detectors_compare() {
        for l in LANGUAGES {
            for (what, field) in [
                ("from", l.from),
                ("sent", l.sent),
                ("subject", l.subject),
                ("separators", l.separators),
                ("yes", l.yes),
                ("no", l.no),
                ("auto_subjects", l.auto_subjects),
                ("auto_statements", l.auto_statements),
            ] {
                assert!(!field.is_empty(), "{}: {what} is empty", l.code);
            }
            if !["en", "de"].contains(&l.code) {
                assert!(!l.wrote.is_empty(), "{}: no verb of attribution", l.code);
                assert!(!l.app_lines.is_empty(), "{}: no app line", l.code);
            }
            for word in every_word(l) {
                assert_eq!(
                    fold(word, 200).as_deref(),
                    Some(word),
                    "{}: {word:?}",
                    l.code
                );
                assert_eq!(
                    word.trim(),
                    word.trim_end_matches(' '),
                    "{}: {word:?}",
                    l.code
                );
                assert!(!word.is_empty(), "{}", l.code);
            }
            for word in l.from.iter().chain(l.sent).chain(l.to).chain(l.subject) {
                assert!(
                    !word.contains(':') && word.len() <= 30,
                    "{}: {word}",
                    l.code
                );
            }
            for word in l.alone {
                assert!(
                    l.yes.contains(word) || l.no.contains(word),
                    "{}: {word} is alone but neither yes nor no",
                    l.code
                );
            }
            for line in l.app_lines {
                assert!(line.len() <= 100 && !line.contains(':'), "{line}");
            }
        }
    }

    #[test]
    fn whole_words_only() {
        assert!(has_phrase("le 3 mars, anna a écrit :", "a écrit"));
        assert!(!has_phrase("anna a écrite", "a écrit"));
        assert!(!has_phrase("j'ai écrit", "a écrit"));
        assert!(has_phrase("anna napisał(a):", "napisał"));
        assert!(!has_phrase("napisałem", "napisał"));
        assert_eq!(fold("De\u{a0}:", 10).as_deref(), Some("de :"));
        assert_eq!(fold("ОТ", 10).as_deref(), Some("от"));
        assert_eq!(
            fold("Message d’origine", 100).as_deref(),
            Some("message d'origine")
        );
        assert_eq!(fold("long", 3), None);
    }
}
