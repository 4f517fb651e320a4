"""Who sends each kind of message: fictional organisations and the real platforms clinics use.

Fictional organisations have invented names and domains. Real platforms
(Microsoft, Google, DocuSign, Zoom, Stripe, PayPal, Amazon, ...) appear with
the addresses and link hosts they really use, filled with fictional values,
because a clinic's inbox is full of them and the analyzer must stay quiet on
them. Each list's last third is used only by the kept-aside (holdout) set.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Org:
    """A sender organisation: display name, mail domain, web domain, language, ESP."""

    name: str
    domain: str
    lang: str
    esp: str  # own | sendgrid | mailchimp | mandrill | ses | postmark | sparkpost
    web: str = ""

    @property
    def site(self) -> str:
        return self.web or self.domain


# Fictional vendors by role and language. Kept generic and distinct from brand lists.
VENDORS: dict[str, list[Org]] = {
    "en": [
        Org("Northwind Health Systems", "northwindhealth.com", "en", "sendgrid"),
        Org("Clearpath Claims", "clearpathclaims.com", "en", "ses"),
        Org("Bluestem Mutual", "bluestemmutual.com", "en", "own"),
        Org("Meridian Diagnostics", "meridiandx.com", "en", "postmark"),
        Org("Harbor Medical Supply", "harbormedsupply.com", "en", "mailchimp"),
        Org("PayGrid Payroll", "paygridpayroll.com", "en", "sparkpost"),
        Org("Chartwell EHR", "chartwellehr.com", "en", "mandrill"),
        Org("Sunfield Billing Services", "sunfieldbilling.com", "en", "sendgrid"),
        Org("Copperline Telehealth", "copperlinehealth.com", "en", "ses"),
        Org("Larkspur Dental Labs", "larkspurlabs.com", "en", "own"),
        Org("Oakridge Benefits", "oakridgebenefits.com", "en", "postmark"),
        Org("Tidewater Imaging", "tidewaterimaging.com", "en", "mailchimp"),
    ],
    "nl": [
        Org("Zorgnet Labdiagnostiek", "zorgnetlab.nl", "nl", "own"),
        Org("Medivoorraad", "medivoorraad.nl", "nl", "mailchimp"),
        Org("Zilverpolis Zorgverzekeraar", "zilverpolis.nl", "nl", "ses"),
        Org("Salarisdirect", "salarisdirect.nl", "nl", "sendgrid"),
        Org("Praktijkdata", "praktijkdata.nl", "nl", "postmark"),
        Org("Declareerhulp", "declareerhulp.nl", "nl", "own"),
        Org("Huisartsenpost Regio West", "hapregiowest.nl", "nl", "own"),
        Org("Kliniekbenodigdheden Vos", "kliniekvos.nl", "nl", "mandrill"),
        Org("Zorgadmin Online", "zorgadmin.nl", "nl", "sendgrid"),
    ],
    "pt": [
        Org("Laboratório Vitalis", "labvitalis.com.br", "pt", "own"),
        Org("Saúde Plena Seguros", "saudeplenaseguros.com.br", "pt", "ses"),
        Org("MedSuprimentos", "medsuprimentos.com.br", "pt", "mailchimp"),
        Org("Folha Fácil RH", "folhafacil.com.br", "pt", "sendgrid"),
        Org("Clínica Sistemas", "clinicasistemas.com.br", "pt", "postmark"),
        Org("Faturamento Ágil", "faturamentoagil.com.br", "pt", "own"),
        Org("Análises Lusitânia", "analiseslusitania.pt", "pt", "mandrill"),
        Org("Farmadistribui", "farmadistribui.pt", "pt", "sendgrid"),
        Org("Conexão Prestador", "conexaoprestador.com.br", "pt", "ses"),
    ],
    "fr": [
        Org("Laboratoire Biolam", "biolam-labo.fr", "fr", "own"),
        Org("Mutuelle Horizon Santé", "horizon-sante.fr", "fr", "ses"),
        Org("MédiStock", "medistock.fr", "fr", "mailchimp"),
        Org("PaieClaire", "paieclaire.fr", "fr", "sendgrid"),
        Org("Cabinet Logiciel Asclépios", "asclepios-logiciel.fr", "fr", "postmark"),
        Org("Télétrans Services", "teletrans-services.fr", "fr", "own"),
        Org("Biologie Rhône-Alpes", "bio-rhonealpes.fr", "fr", "mandrill"),
        Org("Fournitures Médicales Morel", "fournitures-morel.fr", "fr", "sendgrid"),
        Org("Gestion Cabinet Plus", "gestioncabinetplus.fr", "fr", "ses"),
    ],
    "de": [
        Org("Laborverbund Mitte", "laborverbund-mitte.de", "de", "own"),
        Org("Praxisbedarf Huber", "praxisbedarf-huber.de", "de", "mailchimp"),
        Org("Abrechnungszentrum Nord", "abrechnung-nord.de", "de", "ses"),
        Org("LohnPilot", "lohnpilot.de", "de", "sendgrid"),
        Org("Praxissoft Weber", "praxissoft-weber.de", "de", "postmark"),
        Org("Krankenkasse Mittelrhein", "kk-mittelrhein.de", "de", "own"),
        Org("MVZ Labor Südwest", "labor-suedwest.de", "de", "mandrill"),
        Org("Medizintechnik Brandt", "medtech-brandt.de", "de", "sendgrid"),
        Org("Termin-Manager Praxis", "terminmanager-praxis.de", "de", "ses"),
    ],
    "es": [
        Org("Laboratorio Análisis Sur", "analisissur.es", "es", "own"),
        Org("Seguros Salud Clara", "saludclara.es", "es", "ses"),
        Org("Suministros Clínicos Iberia", "suministrosiberia.es", "es", "mailchimp"),
        Org("Nómina Fácil", "nominafacil.es", "es", "sendgrid"),
        Org("Gestión Consulta", "gestionconsulta.es", "es", "postmark"),
        Org("Facturación Sanitaria Levante", "facturacionlevante.es", "es", "own"),
        Org("Diagnóstico Norte", "diagnosticonorte.es", "es", "mandrill"),
        Org("Material Médico Ruiz", "materialruiz.es", "es", "sendgrid"),
        Org("Cita Previa Online", "citapreviaonline.es", "es", "ses"),
    ],
}

#: Recipients: fictional clinics.
CLINICS: dict[str, list[str]] = {
    "en": [
        "harborviewclinic.org",
        "maplefamilypractice.com",
        "riverbendpeds.org",
        "cedarhillsmedical.com",
    ],
    "nl": ["praktijkdewilg.nl", "huisartsenmolenweg.nl", "fysiodekade.nl", "tandartsbrugzicht.nl"],
    "pt": [
        "clinicasaomarcos.com.br",
        "consultoriovilanova.com.br",
        "clinicadoparque.pt",
        "odontoriobranco.com.br",
    ],
    "fr": [
        "cabinet-des-tilleuls.fr",
        "maisonsante-valmont.fr",
        "centremedical-lacroix.fr",
        "kine-saintjean.fr",
    ],
    "de": [
        "praxis-am-lindenplatz.de",
        "hausarzt-mueller-koeln.de",
        "zahnarzt-seeblick.de",
        "physio-altstadt.de",
    ],
    "es": [
        "clinicalaalameda.es",
        "consultoriosanroque.es",
        "centromedicoribera.es",
        "fisioterapiaelpuerto.es",
    ],
}

PEOPLE: dict[str, list[str]] = {
    "en": [
        "Dana Whitfield",
        "Marcus Lee",
        "Priya Raman",
        "Tom Okafor",
        "Jenna Castillo",
        "Alan Brooks",
        "Grace Miller",
        "Owen Hart",
    ],
    "nl": [
        "Sanne de Vries",
        "Joost Bakker",
        "Fatima El Amrani",
        "Pieter Jansen",
        "Lotte Visser",
        "Ruben Smit",
        "Eva Mulder",
        "Bram Kok",
    ],
    "pt": [
        "Ana Ribeiro",
        "Carlos Mendes",
        "Juliana Costa",
        "Rafael Almeida",
        "Beatriz Lima",
        "Tiago Ferreira",
        "Mariana Rocha",
        "Pedro Santos",
    ],
    "fr": [
        "Claire Dubois",
        "Julien Martin",
        "Amélie Laurent",
        "Nicolas Petit",
        "Sophie Moreau",
        "Hugo Lefèvre",
        "Chloé Girard",
        "Louis Fontaine",
    ],
    "de": [
        "Katrin Schulz",
        "Jonas Becker",
        "Leonie Wagner",
        "Tobias Hoffmann",
        "Miriam Koch",
        "Felix Richter",
        "Anna Klein",
        "Lukas Wolf",
    ],
    "es": [
        "Lucía Navarro",
        "Javier Ortega",
        "Marta Serrano",
        "Diego Romero",
        "Elena Castro",
        "Pablo Vidal",
        "Carmen Ruiz",
        "Sergio Molina",
    ],
}

CITIES = [
    "Rotterdam",
    "Lyon",
    "Porto",
    "Campinas",
    "Leipzig",
    "Sevilla",
    "Denver",
    "Leeds",
    "Gent",
    "Curitiba",
    "Bilbao",
    "Graz",
]
DEVICES = [
    "Chrome on Windows",
    "Safari on iPhone",
    "Edge on Windows 11",
    "Firefox on macOS",
    "Android phone",
    "iPad",
]
TEAMS = [
    "Front Desk",
    "Billing",
    "Clinical Ops",
    "Practice Managers",
    "IT Helpdesk",
    "Nursing",
    "Scheduling",
]
DOCS = [
    "Q3 staff rota.xlsx",
    "Patient intake form v4",
    "Infection control checklist",
    "Budget 2025",
    "On-call schedule",
    "Onboarding - new hires",
    "Weekly huddle",
]

#: Real platforms: (kind -> list of (display, address, link host, mail domain for DKIM, brand-y)).
#: Every value other than the platform's own addresses and hosts is fictional.
PLATFORMS: dict[str, list[tuple[str, str, str, str]]] = {
    "receipt": [
        ("Stripe", "receipts+acct_1Nf8QvLkdIwHu7ix@stripe.com", "pay.stripe.com", "stripe.com"),
        ("PayPal", "service@paypal.com", "www.paypal.com", "paypal.com"),
        ("Microsoft", "microsoft-noreply@microsoft.com", "account.microsoft.com", "microsoft.com"),
        ("Google Payments", "payments-noreply@google.com", "payments.google.com", "google.com"),
        ("Apple", "no_reply@email.apple.com", "reportaproblem.apple.com", "apple.com"),
        ("Amazon.de", "auftragsbestaetigung@amazon.de", "www.amazon.de", "amazon.de"),
    ],
    "invoice": [
        ("Microsoft", "microsoft-noreply@microsoft.com", "admin.microsoft.com", "microsoft.com"),
        ("Google Workspace", "payments-noreply@google.com", "admin.google.com", "google.com"),
        ("Zoom", "billing@zoom.us", "zoom.us", "zoom.us"),
        ("Adobe", "mail@mail.adobe.com", "account.adobe.com", "adobe.com"),
        (
            "Intuit QuickBooks",
            "quickbooks@notification.intuit.com",
            "connect.intuit.com",
            "intuit.com",
        ),
    ],
    "dunning": [
        ("Zoom", "billing@zoom.us", "zoom.us", "zoom.us"),
        ("Microsoft", "microsoft-noreply@microsoft.com", "admin.microsoft.com", "microsoft.com"),
        ("Dropbox", "no-reply@dropbox.com", "www.dropbox.com", "dropbox.com"),
        ("Google Workspace", "payments-noreply@google.com", "admin.google.com", "google.com"),
    ],
    "password_reset": [
        (
            "Microsoft account team",
            "account-security-noreply@accountprotection.microsoft.com",
            "account.live.com",
            "accountprotection.microsoft.com",
        ),
        ("Dropbox", "no-reply@dropbox.com", "www.dropbox.com", "dropbox.com"),
        ("Zoom", "no-reply@zoom.us", "zoom.us", "zoom.us"),
        ("DocuSign", "dse@docusign.net", "account.docusign.com", "docusign.net"),
        ("Slack", "feedback@slack.com", "slack.com", "slack.com"),
        ("GitHub", "noreply@github.com", "github.com", "github.com"),
    ],
    "signin_alert": [
        ("Google", "no-reply@accounts.google.com", "myaccount.google.com", "accounts.google.com"),
        (
            "Microsoft account team",
            "account-security-noreply@accountprotection.microsoft.com",
            "account.live.com",
            "accountprotection.microsoft.com",
        ),
        ("Apple", "appleid@id.apple.com", "appleid.apple.com", "id.apple.com"),
        ("LinkedIn", "security-noreply@linkedin.com", "www.linkedin.com", "linkedin.com"),
        ("PayPal", "service@paypal.com", "www.paypal.com", "paypal.com"),
    ],
    "quota": [
        ("Microsoft Outlook", "no-reply@microsoft.com", "outlook.office.com", "microsoft.com"),
        ("Google", "google-storage-noreply@google.com", "one.google.com", "google.com"),
        ("Dropbox", "no-reply@dropbox.com", "www.dropbox.com", "dropbox.com"),
        ("iCloud", "noreply@email.apple.com", "www.icloud.com", "apple.com"),
    ],
    "invite": [
        (
            "{inviter} (via Google Docs)",
            "drive-shares-dm-noreply@google.com",
            "docs.google.com",
            "google.com",
        ),
        (
            "{inviter}",
            "no-reply@sharepointonline.com",
            "{tenant}.sharepoint.com",
            "sharepointonline.com",
        ),
        (
            "Microsoft Teams",
            "noreply@email.teams.microsoft.com",
            "teams.microsoft.com",
            "email.teams.microsoft.com",
        ),
        ("{inviter} via DocuSign", "dse_NA3@docusign.net", "na3.docusign.net", "docusign.net"),
        ("Zoom", "no-reply@zoom.us", "us02web.zoom.us", "zoom.us"),
        ("Slack", "feedback@slack.com", "{tenant}.slack.com", "slack.com"),
        (
            "Google Calendar",
            "calendar-notification@google.com",
            "calendar.google.com",
            "google.com",
        ),
    ],
    "order": [
        ("Amazon Business", "auto-confirm@amazon.com", "www.amazon.com", "amazon.com"),
        ("Amazon.nl", "bestelbevestiging@amazon.nl", "www.amazon.nl", "amazon.nl"),
        ("Amazon.fr", "confirmation-commande@amazon.fr", "www.amazon.fr", "amazon.fr"),
        ("UPS", "mcinfo@ups.com", "www.ups.com", "ups.com"),
        ("DHL Paket", "noreply@dhl.de", "www.dhl.de", "dhl.de"),
    ],
    "payroll": [
        ("ADP", "SecurityServices_NoReply@adp.com", "my.adp.com", "adp.com"),
        ("Gusto", "no-reply@gusto.com", "app.gusto.com", "gusto.com"),
        ("Workday", "{tenant}@myworkday.com", "wd5.myworkday.com", "myworkday.com"),
    ],
}
