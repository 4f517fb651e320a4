"""Phrasing of the modern legitimate-mail set, written for Carewall (no third-party text).

Every kind of message has, per language, lists of subjects, opening lines,
body lines, call-to-action labels and closings. The LAST entry of every list
is reserved for the kept-aside (holdout) set and never used for the
development set, so the holdout tests phrasing the analyzer was not tuned on.
Placeholders: {name} {org} {amount} {inv} {date} {code} {pct} {inviter}
{doc} {n} {device} {city} {team} {list}.
"""

from __future__ import annotations

Phrases = dict[str, dict[str, list[str]]]

RECEIPT: Phrases = {
    "en": {
        "subject": [
            "Your receipt from {org} #{inv}",
            "Payment received - thank you",
            "Receipt for your payment to {org}",
            "We received your payment ({amount})",
        ],
        "open": ["Hi {name},", "Hello {name},", "Dear {name},", "Hi there,"],
        "body": [
            "Thanks for your payment of {amount}. This email is your receipt for invoice {inv}.",
            "We have received your payment of {amount} on {date}. No further action is needed.",
            "Your card was charged {amount} for your {org} subscription. A PDF copy of this receipt is available in your billing settings.",
            "This confirms your payment of {amount} towards invoice {inv}. Keep this email for your records.",
        ],
        "cta": ["View receipt", "Download invoice", "Billing history", "See payment details"],
        "close": [
            "Thanks for being a customer.",
            "Questions about this charge? Reply to this email or visit our help center.",
            "The {org} billing team",
            "We appreciate your business.",
        ],
    },
    "nl": {
        "subject": [
            "Uw betalingsbewijs van {org} ({inv})",
            "Betaling ontvangen - bedankt",
            "Bevestiging van uw betaling",
            "Wij hebben uw betaling van {amount} ontvangen",
        ],
        "open": ["Beste {name},", "Hallo {name},", "Geachte {name},", "Goedendag,"],
        "body": [
            "Bedankt voor uw betaling van {amount}. Deze e-mail is uw betalingsbewijs voor factuur {inv}.",
            "Wij hebben op {date} uw betaling van {amount} ontvangen. U hoeft verder niets te doen.",
            "Er is {amount} afgeschreven voor uw abonnement bij {org}. Een pdf van dit betalingsbewijs vindt u in uw account.",
            "Hierbij bevestigen wij de ontvangst van {amount} voor factuur {inv}. Bewaar deze e-mail voor uw administratie.",
        ],
        "cta": [
            "Bekijk betalingsbewijs",
            "Factuur downloaden",
            "Naar mijn facturen",
            "Betaaldetails bekijken",
        ],
        "close": [
            "Met vriendelijke groet, {org}",
            "Vragen? Neem contact op met onze klantenservice.",
            "Team {org}",
            "Dank voor uw vertrouwen.",
        ],
    },
    "pt": {
        "subject": [
            "Seu recibo de {org} nº {inv}",
            "Pagamento recebido - obrigado",
            "Comprovante do seu pagamento",
            "Recebemos seu pagamento de {amount}",
        ],
        "open": ["Olá {name},", "Prezado(a) {name},", "Oi {name},", "Caro cliente,"],
        "body": [
            "Obrigado pelo pagamento de {amount}. Este e-mail é o seu recibo referente à fatura {inv}.",
            "Recebemos o seu pagamento de {amount} em {date}. Não é necessária nenhuma ação.",
            "Foi cobrado {amount} no seu cartão pela assinatura {org}. O recibo em PDF está disponível na sua área de cliente.",
            "Confirmamos o recebimento de {amount} referente à fatura {inv}. Guarde este e-mail para os seus registros.",
        ],
        "cta": ["Ver recibo", "Baixar fatura", "Histórico de pagamentos", "Ver detalhes"],
        "close": [
            "Atenciosamente, equipe {org}",
            "Dúvidas? Fale com o nosso atendimento.",
            "Equipe financeira {org}",
            "Agradecemos a preferência.",
        ],
    },
    "fr": {
        "subject": [
            "Votre reçu {org} n° {inv}",
            "Paiement reçu - merci",
            "Confirmation de votre paiement",
            "Nous avons bien reçu votre paiement de {amount}",
        ],
        "open": ["Bonjour {name},", "Madame, Monsieur,", "Cher client,", "Bonjour,"],
        "body": [
            "Merci pour votre paiement de {amount}. Cet e-mail fait office de reçu pour la facture {inv}.",
            "Nous avons bien reçu votre règlement de {amount} le {date}. Aucune action n'est requise de votre part.",
            "Votre carte a été débitée de {amount} pour votre abonnement {org}. Le reçu au format PDF est disponible dans votre espace client.",
            "Nous confirmons la réception de {amount} au titre de la facture {inv}. Conservez ce message pour votre comptabilité.",
        ],
        "cta": [
            "Voir le reçu",
            "Télécharger la facture",
            "Historique de facturation",
            "Détails du paiement",
        ],
        "close": [
            "Cordialement, l'équipe {org}",
            "Une question ? Contactez notre service client.",
            "Le service facturation {org}",
            "Merci de votre confiance.",
        ],
    },
    "de": {
        "subject": [
            "Ihre Quittung von {org} Nr. {inv}",
            "Zahlung erhalten - vielen Dank",
            "Bestätigung Ihrer Zahlung",
            "Wir haben Ihre Zahlung über {amount} erhalten",
        ],
        "open": [
            "Hallo {name},",
            "Sehr geehrte Damen und Herren,",
            "Guten Tag {name},",
            "Liebe Kundin, lieber Kunde,",
        ],
        "body": [
            "Vielen Dank für Ihre Zahlung über {amount}. Diese E-Mail ist Ihre Quittung für Rechnung {inv}.",
            "Wir haben Ihre Zahlung über {amount} am {date} erhalten. Sie müssen nichts weiter tun.",
            "Ihre Karte wurde für Ihr {org}-Abonnement mit {amount} belastet. Die Quittung als PDF finden Sie in Ihrem Kundenkonto.",
            "Hiermit bestätigen wir den Eingang von {amount} für Rechnung {inv}. Bitte bewahren Sie diese E-Mail für Ihre Unterlagen auf.",
        ],
        "cta": [
            "Quittung ansehen",
            "Rechnung herunterladen",
            "Zahlungsübersicht",
            "Zahlungsdetails",
        ],
        "close": [
            "Mit freundlichen Grüßen, Ihr {org}-Team",
            "Fragen? Unser Kundenservice hilft gern.",
            "Ihre {org} Buchhaltung",
            "Danke für Ihr Vertrauen.",
        ],
    },
    "es": {
        "subject": [
            "Tu recibo de {org} n.º {inv}",
            "Pago recibido - gracias",
            "Confirmación de su pago",
            "Hemos recibido su pago de {amount}",
        ],
        "open": ["Hola {name},", "Estimado/a {name}:", "Buenos días,", "Hola,"],
        "body": [
            "Gracias por tu pago de {amount}. Este correo es tu recibo de la factura {inv}.",
            "Hemos recibido su pago de {amount} el {date}. No tiene que hacer nada más.",
            "Se ha cargado {amount} en su tarjeta por la suscripción a {org}. El recibo en PDF está disponible en su área de cliente.",
            "Confirmamos la recepción de {amount} correspondiente a la factura {inv}. Conserve este correo para su contabilidad.",
        ],
        "cta": [
            "Ver recibo",
            "Descargar factura",
            "Historial de facturación",
            "Ver detalles del pago",
        ],
        "close": [
            "Un saludo, el equipo de {org}",
            "¿Dudas? Contacta con nuestro servicio de atención al cliente.",
            "Departamento de facturación de {org}",
            "Gracias por su confianza.",
        ],
    },
}

INVOICE: Phrases = {
    "en": {
        "subject": [
            "Invoice {inv} from {org}",
            "Your {org} invoice is ready",
            "New invoice available: {inv}",
            "{org} invoice {inv} - due {date}",
        ],
        "open": ["Hi {name},", "Hello,", "Dear customer,", "Hi {name},"],
        "body": [
            "Your invoice {inv} for {amount} is now available. Payment is due on {date}; if you pay by direct debit, no action is needed.",
            "Please find your latest invoice attached. The amount of {amount} will be collected automatically on {date}.",
            "A new invoice of {amount} has been issued for your account. You can pay online by card or bank transfer before {date}.",
            "Invoice {inv} ({amount}) was issued today. The PDF is attached and also available in the billing portal.",
        ],
        "cta": ["View invoice", "Pay invoice", "Open billing portal", "Download PDF"],
        "close": [
            "Thank you for your business.",
            "Accounts receivable, {org}",
            "If you have already paid, please disregard this message.",
            "Best regards, {org}",
        ],
    },
    "nl": {
        "subject": [
            "Factuur {inv} van {org}",
            "Uw nieuwe factuur van {org} staat klaar",
            "Nieuwe factuur beschikbaar",
            "Factuur {inv} - vervaldatum {date}",
        ],
        "open": ["Beste {name},", "Geachte heer/mevrouw,", "Hallo,", "Beste klant,"],
        "body": [
            "Uw factuur {inv} van {amount} staat klaar. De betaaltermijn verloopt op {date}; betaalt u via automatische incasso, dan hoeft u niets te doen.",
            "In de bijlage vindt u uw nieuwe factuur. Het bedrag van {amount} wordt op {date} automatisch geïncasseerd.",
            "Er is een nieuwe factuur van {amount} voor uw account aangemaakt. U kunt vóór {date} betalen met iDEAL of via een overboeking.",
            "Factuur {inv} ({amount}) is vandaag verstuurd. De pdf zit in de bijlage en staat ook in de klantomgeving.",
        ],
        "cta": ["Factuur bekijken", "Factuur betalen", "Naar de klantomgeving", "Pdf downloaden"],
        "close": [
            "Met vriendelijke groet, debiteurenadministratie {org}",
            "Heeft u al betaald? Dan kunt u dit bericht negeren.",
            "Team {org}",
            "Bedankt voor de samenwerking.",
        ],
    },
    "pt": {
        "subject": [
            "Fatura {inv} de {org}",
            "Sua fatura {org} já está disponível",
            "Nova fatura disponível",
            "Fatura {inv} - vencimento {date}",
        ],
        "open": ["Olá {name},", "Prezado cliente,", "Oi,", "Prezado(a) {name},"],
        "body": [
            "Sua fatura {inv} no valor de {amount} já está disponível. O vencimento é em {date}; se você paga por débito automático, não é preciso fazer nada.",
            "Segue em anexo a sua fatura mais recente. O valor de {amount} será debitado automaticamente em {date}.",
            "Uma nova fatura de {amount} foi emitida para sua conta. Você pode pagar com boleto, Pix ou cartão até {date}.",
            "A fatura {inv} ({amount}) foi emitida hoje. O PDF está em anexo e também no portal do cliente.",
        ],
        "cta": ["Ver fatura", "Pagar fatura", "Acessar portal do cliente", "Baixar PDF"],
        "close": [
            "Obrigado pela parceria.",
            "Departamento financeiro {org}",
            "Se você já pagou, desconsidere esta mensagem.",
            "Atenciosamente, {org}",
        ],
    },
    "fr": {
        "subject": [
            "Facture {inv} de {org}",
            "Votre facture {org} est disponible",
            "Nouvelle facture disponible",
            "Facture {inv} - échéance le {date}",
        ],
        "open": ["Bonjour {name},", "Madame, Monsieur,", "Bonjour,", "Cher client,"],
        "body": [
            "Votre facture {inv} d'un montant de {amount} est disponible. Elle est payable au {date} ; si vous avez opté pour le prélèvement, vous n'avez rien à faire.",
            "Veuillez trouver ci-joint votre dernière facture. Le montant de {amount} sera prélevé automatiquement le {date}.",
            "Une nouvelle facture de {amount} a été émise pour votre compte. Vous pouvez la régler par carte ou par virement avant le {date}.",
            "La facture {inv} ({amount}) a été émise aujourd'hui. Le PDF est joint et disponible dans votre espace client.",
        ],
        "cta": [
            "Voir la facture",
            "Régler la facture",
            "Accéder à mon espace",
            "Télécharger le PDF",
        ],
        "close": [
            "Merci de votre confiance.",
            "Service comptabilité clients, {org}",
            "Si vous avez déjà réglé, merci de ne pas tenir compte de ce message.",
            "Cordialement, {org}",
        ],
    },
    "de": {
        "subject": [
            "Rechnung {inv} von {org}",
            "Ihre {org}-Rechnung ist da",
            "Neue Rechnung verfügbar",
            "Rechnung {inv} - fällig am {date}",
        ],
        "open": [
            "Hallo {name},",
            "Sehr geehrte Damen und Herren,",
            "Guten Tag,",
            "Sehr geehrte Kundin, sehr geehrter Kunde,",
        ],
        "body": [
            "Ihre Rechnung {inv} über {amount} steht bereit. Sie ist am {date} fällig; bei SEPA-Lastschrift müssen Sie nichts tun.",
            "Anbei erhalten Sie Ihre aktuelle Rechnung. Der Betrag von {amount} wird am {date} automatisch eingezogen.",
            "Für Ihr Konto wurde eine neue Rechnung über {amount} erstellt. Sie können bis zum {date} per Karte oder Überweisung bezahlen.",
            "Rechnung {inv} ({amount}) wurde heute erstellt. Das PDF finden Sie im Anhang und im Kundenportal.",
        ],
        "cta": ["Rechnung ansehen", "Rechnung bezahlen", "Zum Kundenportal", "PDF herunterladen"],
        "close": [
            "Vielen Dank für Ihren Auftrag.",
            "Ihre Debitorenbuchhaltung, {org}",
            "Falls Sie bereits bezahlt haben, betrachten Sie diese Nachricht bitte als gegenstandslos.",
            "Freundliche Grüße, {org}",
        ],
    },
    "es": {
        "subject": [
            "Factura {inv} de {org}",
            "Tu factura de {org} ya está disponible",
            "Nueva factura disponible",
            "Factura {inv} - vence el {date}",
        ],
        "open": ["Hola {name},", "Estimado cliente:", "Buenas tardes,", "Estimado/a {name}:"],
        "body": [
            "Tu factura {inv} por {amount} ya está disponible. Vence el {date}; si pagas por domiciliación no tienes que hacer nada.",
            "Adjuntamos su última factura. El importe de {amount} se cargará automáticamente el {date}.",
            "Se ha emitido una nueva factura de {amount} para su cuenta. Puede pagarla con tarjeta o transferencia antes del {date}.",
            "La factura {inv} ({amount}) se ha emitido hoy. El PDF va adjunto y también está en el área de clientes.",
        ],
        "cta": ["Ver factura", "Pagar factura", "Ir al área de clientes", "Descargar PDF"],
        "close": [
            "Gracias por confiar en nosotros.",
            "Departamento de administración, {org}",
            "Si ya ha realizado el pago, ignore este mensaje.",
            "Saludos cordiales, {org}",
        ],
    },
}

DUNNING: Phrases = {
    "en": {
        "subject": [
            "Payment reminder: invoice {inv} is overdue",
            "Reminder: your payment of {amount} is past due",
            "Final notice for invoice {inv}",
            "Action needed: update your payment method",
        ],
        "open": ["Hi {name},", "Dear customer,", "Hello {name},", "Hello,"],
        "body": [
            "Our records show that invoice {inv} for {amount}, due on {date}, has not been paid yet. Please arrange payment at your earliest convenience.",
            "We were unable to charge your card on file for {amount}. Please update your payment method to keep your subscription active.",
            "This is a friendly reminder that {amount} is now 14 days past due. If payment is not received within 10 days, your account may be suspended and late fees may apply.",
            "We tried to collect {amount} for invoice {inv} but the payment failed. Update your billing details in your account to avoid an interruption of service.",
        ],
        "cta": ["Pay now", "Update payment method", "View invoice", "Go to billing"],
        "close": [
            "If you have already paid, thank you and please ignore this reminder.",
            "Questions? Call our billing team at +1 555 0142.",
            "Accounts receivable, {org}",
            "Thank you, {org}",
        ],
    },
    "nl": {
        "subject": [
            "Betalingsherinnering factuur {inv}",
            "Herinnering: openstaand bedrag {amount}",
            "Laatste herinnering factuur {inv}",
            "Actie nodig: werk uw betaalgegevens bij",
        ],
        "open": ["Beste {name},", "Geachte klant,", "Hallo {name},", "Geachte heer/mevrouw,"],
        "body": [
            "Volgens onze administratie is factuur {inv} van {amount}, met vervaldatum {date}, nog niet betaald. Wilt u het bedrag zo spoedig mogelijk overmaken?",
            "Het is ons niet gelukt {amount} af te schrijven. Werk uw betaalgegevens bij zodat uw abonnement actief blijft.",
            "Dit is een herinnering: {amount} staat inmiddels 14 dagen open. Ontvangen wij de betaling niet binnen 10 dagen, dan kan uw account worden opgeschort en brengen wij incassokosten in rekening.",
            "De incasso van {amount} voor factuur {inv} is mislukt. Pas uw betaalgegevens aan in uw account om onderbreking van de dienst te voorkomen.",
        ],
        "cta": ["Nu betalen", "Betaalgegevens bijwerken", "Factuur bekijken", "Naar facturatie"],
        "close": [
            "Heeft u inmiddels betaald? Dan kunt u deze herinnering negeren.",
            "Vragen? Bel onze debiteurenafdeling op 020 555 0142.",
            "Debiteurenadministratie {org}",
            "Met vriendelijke groet, {org}",
        ],
    },
    "pt": {
        "subject": [
            "Lembrete de pagamento: fatura {inv} em atraso",
            "Lembrete: pagamento de {amount} pendente",
            "Último aviso da fatura {inv}",
            "Ação necessária: atualize sua forma de pagamento",
        ],
        "open": ["Olá {name},", "Prezado cliente,", "Oi {name},", "Prezado(a) {name},"],
        "body": [
            "Nossos registros indicam que a fatura {inv} de {amount}, com vencimento em {date}, ainda não foi paga. Por favor, efetue o pagamento assim que possível.",
            "Não conseguimos cobrar {amount} no seu cartão cadastrado. Atualize sua forma de pagamento para manter sua assinatura ativa.",
            "Este é um lembrete: o valor de {amount} está em atraso há 14 dias. Se o pagamento não for recebido em 10 dias, sua conta poderá ser suspensa e serão cobrados juros.",
            "A cobrança de {amount} da fatura {inv} não foi concluída. Atualize seus dados de pagamento para evitar a interrupção do serviço.",
        ],
        "cta": ["Pagar agora", "Atualizar forma de pagamento", "Ver fatura", "Ir para cobrança"],
        "close": [
            "Se você já efetuou o pagamento, desconsidere este lembrete.",
            "Dúvidas? Ligue para (11) 5555-0142.",
            "Departamento de cobrança {org}",
            "Atenciosamente, {org}",
        ],
    },
    "fr": {
        "subject": [
            "Rappel de paiement : facture {inv} échue",
            "Rappel : paiement de {amount} en attente",
            "Dernier rappel pour la facture {inv}",
            "Action requise : mettez à jour votre moyen de paiement",
        ],
        "open": ["Bonjour {name},", "Madame, Monsieur,", "Bonjour,", "Cher client,"],
        "body": [
            "Sauf erreur de notre part, la facture {inv} de {amount}, échue le {date}, reste impayée. Merci de procéder au règlement dans les meilleurs délais.",
            "Nous n'avons pas pu débiter {amount} sur votre carte enregistrée. Mettez à jour votre moyen de paiement pour conserver votre abonnement.",
            "Ceci est un rappel : {amount} est en retard de 14 jours. Sans règlement sous 10 jours, votre compte pourra être suspendu et des pénalités de retard appliquées.",
            "Le prélèvement de {amount} pour la facture {inv} a échoué. Mettez à jour vos coordonnées bancaires pour éviter une interruption du service.",
        ],
        "cta": [
            "Payer maintenant",
            "Mettre à jour le moyen de paiement",
            "Voir la facture",
            "Accéder à la facturation",
        ],
        "close": [
            "Si vous avez déjà réglé, merci de ne pas tenir compte de ce rappel.",
            "Une question ? Appelez le 01 55 55 01 42.",
            "Service recouvrement, {org}",
            "Cordialement, {org}",
        ],
    },
    "de": {
        "subject": [
            "Zahlungserinnerung: Rechnung {inv} überfällig",
            "Erinnerung: offener Betrag {amount}",
            "Letzte Mahnung zu Rechnung {inv}",
            "Bitte aktualisieren Sie Ihre Zahlungsmethode",
        ],
        "open": [
            "Hallo {name},",
            "Sehr geehrte Damen und Herren,",
            "Guten Tag {name},",
            "Sehr geehrte Kundin, sehr geehrter Kunde,",
        ],
        "body": [
            "Laut unserer Buchhaltung ist Rechnung {inv} über {amount}, fällig am {date}, noch nicht beglichen. Bitte überweisen Sie den Betrag zeitnah.",
            "Wir konnten {amount} nicht von Ihrer hinterlegten Karte abbuchen. Bitte aktualisieren Sie Ihre Zahlungsmethode, damit Ihr Abonnement aktiv bleibt.",
            "Dies ist eine Erinnerung: {amount} ist seit 14 Tagen überfällig. Geht die Zahlung nicht innerhalb von 10 Tagen ein, kann Ihr Konto gesperrt werden und es fallen Mahngebühren an.",
            "Die Lastschrift über {amount} für Rechnung {inv} ist fehlgeschlagen. Aktualisieren Sie Ihre Zahlungsdaten, um eine Unterbrechung des Dienstes zu vermeiden.",
        ],
        "cta": [
            "Jetzt bezahlen",
            "Zahlungsmethode aktualisieren",
            "Rechnung ansehen",
            "Zur Abrechnung",
        ],
        "close": [
            "Falls Sie bereits bezahlt haben, betrachten Sie dieses Schreiben als gegenstandslos.",
            "Fragen? Rufen Sie uns an: 030 5550142.",
            "Forderungsmanagement, {org}",
            "Mit freundlichen Grüßen, {org}",
        ],
    },
    "es": {
        "subject": [
            "Recordatorio de pago: factura {inv} vencida",
            "Recordatorio: pago pendiente de {amount}",
            "Último aviso de la factura {inv}",
            "Acción necesaria: actualiza tu método de pago",
        ],
        "open": ["Hola {name},", "Estimado cliente:", "Hola,", "Estimado/a {name}:"],
        "body": [
            "Según nuestros registros, la factura {inv} de {amount}, con vencimiento el {date}, sigue pendiente de pago. Le rogamos que realice el pago lo antes posible.",
            "No hemos podido cobrar {amount} en tu tarjeta guardada. Actualiza tu método de pago para mantener tu suscripción activa.",
            "Le recordamos que {amount} lleva 14 días vencido. Si no recibimos el pago en 10 días, su cuenta podría quedar suspendida y se aplicarán recargos.",
            "El cobro de {amount} de la factura {inv} ha fallado. Actualice sus datos de pago para evitar la interrupción del servicio.",
        ],
        "cta": ["Pagar ahora", "Actualizar método de pago", "Ver factura", "Ir a facturación"],
        "close": [
            "Si ya ha realizado el pago, ignore este recordatorio.",
            "¿Dudas? Llámenos al 910 555 142.",
            "Departamento de cobros, {org}",
            "Un saludo, {org}",
        ],
    },
}

PASSWORD_RESET: Phrases = {
    "en": {
        "subject": [
            "Reset your {org} password",
            "Password reset request",
            "Your password reset link",
            "Instructions to reset your password",
        ],
        "open": ["Hi {name},", "Hello,", "Hi {name},", "Hello {name},"],
        "body": [
            "We received a request to reset the password for your {org} account. Click the button below to choose a new password. This link expires in 60 minutes.",
            "Someone (hopefully you) asked to reset your password. Use the link below to set a new one; it is valid for 24 hours.",
            "You can reset your password using the link below. If you did not request a password reset, you can safely ignore this email; your password will not change.",
            "A password reset was requested for {email}. To continue, open the link below within 30 minutes.",
        ],
        "cta": ["Reset password", "Choose a new password", "Set new password", "Continue"],
        "close": [
            "If you didn't request this, you can ignore this email.",
            "For your security, this link can only be used once.",
            "The {org} team",
            "Need help? Contact support.",
        ],
    },
    "nl": {
        "subject": [
            "Wachtwoord opnieuw instellen voor {org}",
            "Aanvraag nieuw wachtwoord",
            "Je link om je wachtwoord te wijzigen",
            "Instructies voor een nieuw wachtwoord",
        ],
        "open": ["Hoi {name},", "Beste {name},", "Hallo,", "Beste gebruiker,"],
        "body": [
            "We hebben een verzoek ontvangen om het wachtwoord van je {org}-account opnieuw in te stellen. Klik op de knop hieronder om een nieuw wachtwoord te kiezen. Deze link verloopt over 60 minuten.",
            "Iemand (hopelijk jij) heeft gevraagd om je wachtwoord te wijzigen. Gebruik de link hieronder; hij is 24 uur geldig.",
            "Je kunt je wachtwoord wijzigen via de link hieronder. Heb je dit niet aangevraagd? Dan kun je deze e-mail negeren; je wachtwoord blijft dan ongewijzigd.",
            "Voor {email} is een nieuw wachtwoord aangevraagd. Open binnen 30 minuten de link hieronder om verder te gaan.",
        ],
        "cta": [
            "Wachtwoord opnieuw instellen",
            "Nieuw wachtwoord kiezen",
            "Wachtwoord wijzigen",
            "Doorgaan",
        ],
        "close": [
            "Heb je dit niet aangevraagd? Negeer dan deze e-mail.",
            "Voor je veiligheid werkt deze link maar één keer.",
            "Team {org}",
            "Hulp nodig? Neem contact op met support.",
        ],
    },
    "pt": {
        "subject": [
            "Redefinição de senha {org}",
            "Solicitação de nova senha",
            "Seu link para redefinir a senha",
            "Instruções para redefinir sua senha",
        ],
        "open": ["Olá {name},", "Oi {name},", "Olá,", "Prezado(a) usuário(a),"],
        "body": [
            "Recebemos uma solicitação para redefinir a senha da sua conta {org}. Clique no botão abaixo para escolher uma nova senha. Este link expira em 60 minutos.",
            "Alguém (provavelmente você) pediu para redefinir sua senha. Use o link abaixo; ele é válido por 24 horas.",
            "Você pode redefinir sua senha pelo link abaixo. Se você não fez essa solicitação, ignore este e-mail; sua senha continuará a mesma.",
            "Foi solicitada uma nova senha para {email}. Abra o link abaixo em até 30 minutos para continuar.",
        ],
        "cta": ["Redefinir senha", "Escolher nova senha", "Criar nova senha", "Continuar"],
        "close": [
            "Se não foi você, ignore este e-mail.",
            "Por segurança, este link só pode ser usado uma vez.",
            "Equipe {org}",
            "Precisa de ajuda? Fale com o suporte.",
        ],
    },
    "fr": {
        "subject": [
            "Réinitialisation de votre mot de passe {org}",
            "Demande de nouveau mot de passe",
            "Votre lien de réinitialisation",
            "Instructions pour changer votre mot de passe",
        ],
        "open": ["Bonjour {name},", "Bonjour,", "Bonjour {name},", "Cher utilisateur,"],
        "body": [
            "Nous avons reçu une demande de réinitialisation du mot de passe de votre compte {org}. Cliquez sur le bouton ci-dessous pour en choisir un nouveau. Ce lien expire dans 60 minutes.",
            "Quelqu'un (vous, sans doute) a demandé à réinitialiser votre mot de passe. Utilisez le lien ci-dessous ; il est valable 24 heures.",
            "Vous pouvez réinitialiser votre mot de passe avec le lien ci-dessous. Si vous n'êtes pas à l'origine de cette demande, ignorez cet e-mail ; votre mot de passe ne changera pas.",
            "Une réinitialisation du mot de passe a été demandée pour {email}. Ouvrez le lien ci-dessous dans les 30 minutes.",
        ],
        "cta": [
            "Réinitialiser le mot de passe",
            "Choisir un nouveau mot de passe",
            "Définir un mot de passe",
            "Continuer",
        ],
        "close": [
            "Si vous n'avez rien demandé, ignorez ce message.",
            "Pour votre sécurité, ce lien ne fonctionne qu'une fois.",
            "L'équipe {org}",
            "Besoin d'aide ? Contactez le support.",
        ],
    },
    "de": {
        "subject": [
            "Passwort für {org} zurücksetzen",
            "Anfrage zum Zurücksetzen des Passworts",
            "Ihr Link zum Zurücksetzen des Passworts",
            "So setzen Sie Ihr Passwort zurück",
        ],
        "open": ["Hallo {name},", "Guten Tag,", "Hallo,", "Guten Tag {name},"],
        "body": [
            "Wir haben eine Anfrage erhalten, das Passwort Ihres {org}-Kontos zurückzusetzen. Klicken Sie auf die Schaltfläche, um ein neues Passwort festzulegen. Der Link ist 60 Minuten gültig.",
            "Jemand (hoffentlich Sie) möchte Ihr Passwort zurücksetzen. Verwenden Sie den Link unten; er ist 24 Stunden gültig.",
            "Über den folgenden Link können Sie Ihr Passwort zurücksetzen. Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail einfach; Ihr Passwort bleibt unverändert.",
            "Für {email} wurde ein neues Passwort angefordert. Öffnen Sie den Link unten innerhalb von 30 Minuten.",
        ],
        "cta": ["Passwort zurücksetzen", "Neues Passwort festlegen", "Passwort ändern", "Weiter"],
        "close": [
            "Falls Sie das nicht waren, ignorieren Sie diese Nachricht.",
            "Aus Sicherheitsgründen funktioniert der Link nur einmal.",
            "Ihr {org}-Team",
            "Hilfe benötigt? Kontaktieren Sie den Support.",
        ],
    },
    "es": {
        "subject": [
            "Restablece tu contraseña de {org}",
            "Solicitud de cambio de contraseña",
            "Tu enlace para restablecer la contraseña",
            "Instrucciones para restablecer su contraseña",
        ],
        "open": ["Hola {name},", "Hola,", "Estimado/a {name}:", "Hola {name}:"],
        "body": [
            "Hemos recibido una solicitud para restablecer la contraseña de tu cuenta de {org}. Haz clic en el botón para elegir una nueva. Este enlace caduca en 60 minutos.",
            "Alguien (seguramente tú) ha pedido restablecer tu contraseña. Usa el enlace de abajo; es válido durante 24 horas.",
            "Puede restablecer su contraseña con el enlace siguiente. Si no lo ha solicitado, ignore este correo; su contraseña no cambiará.",
            "Se ha solicitado una nueva contraseña para {email}. Abra el enlace en los próximos 30 minutos para continuar.",
        ],
        "cta": [
            "Restablecer contraseña",
            "Elegir nueva contraseña",
            "Crear contraseña",
            "Continuar",
        ],
        "close": [
            "Si no has sido tú, ignora este correo.",
            "Por seguridad, este enlace solo funciona una vez.",
            "El equipo de {org}",
            "¿Necesitas ayuda? Contacta con soporte.",
        ],
    },
}

SIGNIN_ALERT: Phrases = {
    "en": {
        "subject": [
            "New sign-in to your {org} account",
            "Security alert: new sign-in on {device}",
            "Your verification code is {code}",
            "Was this you? New login from {city}",
        ],
        "open": ["Hi {name},", "Hello,", "Hi {name},", "Hello {name},"],
        "body": [
            "Your {org} account was just signed in to from a new device ({device}, near {city}). If this was you, there is nothing you need to do.",
            "Your one-time verification code is {code}. It expires in 10 minutes. Never share this code with anyone.",
            "We noticed a new sign-in to your account on {date} from {device}. If you don't recognise this activity, review your recent activity and change your password.",
            "Someone signed in to your account from {city} using {device}. If this wasn't you, open your security settings to secure your account.",
        ],
        "cta": ["Review activity", "Check activity", "Security settings", "Review sign-in"],
        "close": [
            "You received this email to let you know about important changes to your account.",
            "Thanks, the {org} security team",
            "This is an automated message; please do not reply.",
            "Stay safe, {org}",
        ],
    },
    "nl": {
        "subject": [
            "Nieuwe aanmelding bij je {org}-account",
            "Beveiligingsmelding: aanmelding op {device}",
            "Je verificatiecode is {code}",
            "Was jij dit? Nieuwe login vanuit {city}",
        ],
        "open": ["Hoi {name},", "Beste {name},", "Hallo,", "Beste gebruiker,"],
        "body": [
            "Er is zojuist aangemeld bij je {org}-account vanaf een nieuw apparaat ({device}, in de buurt van {city}). Was jij dit, dan hoef je niets te doen.",
            "Je eenmalige verificatiecode is {code}. De code verloopt over 10 minuten. Deel deze code met niemand.",
            "We zagen op {date} een nieuwe aanmelding op je account vanaf {device}. Herken je dit niet, bekijk dan je recente activiteit en wijzig je wachtwoord.",
            "Er is aangemeld vanuit {city} met {device}. Was jij dit niet, open dan je beveiligingsinstellingen.",
        ],
        "cta": [
            "Activiteit bekijken",
            "Controleer activiteit",
            "Beveiligingsinstellingen",
            "Aanmelding bekijken",
        ],
        "close": [
            "Je ontvangt deze e-mail omdat er iets belangrijks aan je account is gewijzigd.",
            "Groeten, het beveiligingsteam van {org}",
            "Dit is een automatisch bericht.",
            "Team {org}",
        ],
    },
    "pt": {
        "subject": [
            "Novo acesso à sua conta {org}",
            "Alerta de segurança: novo acesso em {device}",
            "Seu código de verificação é {code}",
            "Foi você? Novo login em {city}",
        ],
        "open": ["Olá {name},", "Oi {name},", "Olá,", "Prezado(a) {name},"],
        "body": [
            "Sua conta {org} acabou de ser acessada a partir de um novo dispositivo ({device}, perto de {city}). Se foi você, não é preciso fazer nada.",
            "Seu código de verificação é {code}. Ele expira em 10 minutos. Nunca compartilhe este código.",
            "Identificamos um novo acesso à sua conta em {date} a partir de {device}. Se você não reconhece esta atividade, revise os acessos recentes e altere sua senha.",
            "Alguém entrou na sua conta em {city} usando {device}. Se não foi você, abra as configurações de segurança.",
        ],
        "cta": [
            "Ver atividade",
            "Verificar atividade",
            "Configurações de segurança",
            "Revisar acesso",
        ],
        "close": [
            "Você recebeu este e-mail para saber de mudanças importantes na sua conta.",
            "Equipe de segurança {org}",
            "Esta é uma mensagem automática.",
            "Atenciosamente, {org}",
        ],
    },
    "fr": {
        "subject": [
            "Nouvelle connexion à votre compte {org}",
            "Alerte de sécurité : connexion sur {device}",
            "Votre code de vérification : {code}",
            "Est-ce bien vous ? Connexion depuis {city}",
        ],
        "open": ["Bonjour {name},", "Bonjour,", "Bonjour {name},", "Cher utilisateur,"],
        "body": [
            "Une connexion à votre compte {org} vient d'avoir lieu depuis un nouvel appareil ({device}, près de {city}). Si c'était vous, vous n'avez rien à faire.",
            "Votre code de vérification à usage unique est {code}. Il expire dans 10 minutes. Ne le communiquez à personne.",
            "Nous avons détecté une nouvelle connexion le {date} depuis {device}. Si vous ne reconnaissez pas cette activité, consultez l'activité récente et changez votre mot de passe.",
            "Quelqu'un s'est connecté depuis {city} avec {device}. Si ce n'était pas vous, ouvrez vos paramètres de sécurité.",
        ],
        "cta": [
            "Voir l'activité",
            "Vérifier l'activité",
            "Paramètres de sécurité",
            "Examiner la connexion",
        ],
        "close": [
            "Vous recevez cet e-mail pour être informé des changements importants de votre compte.",
            "L'équipe sécurité {org}",
            "Ceci est un message automatique.",
            "Cordialement, {org}",
        ],
    },
    "de": {
        "subject": [
            "Neue Anmeldung bei Ihrem {org}-Konto",
            "Sicherheitshinweis: Anmeldung auf {device}",
            "Ihr Bestätigungscode lautet {code}",
            "Waren Sie das? Neue Anmeldung aus {city}",
        ],
        "open": ["Hallo {name},", "Guten Tag,", "Hallo,", "Guten Tag {name},"],
        "body": [
            "Bei Ihrem {org}-Konto hat sich gerade ein neues Gerät angemeldet ({device}, in der Nähe von {city}). Wenn Sie das waren, müssen Sie nichts tun.",
            "Ihr einmaliger Bestätigungscode lautet {code}. Er ist 10 Minuten gültig. Geben Sie diesen Code niemals weiter.",
            "Am {date} gab es eine neue Anmeldung über {device}. Wenn Sie diese Aktivität nicht kennen, prüfen Sie die letzten Aktivitäten und ändern Sie Ihr Passwort.",
            "Jemand hat sich aus {city} mit {device} angemeldet. Wenn Sie das nicht waren, öffnen Sie Ihre Sicherheitseinstellungen.",
        ],
        "cta": [
            "Aktivität prüfen",
            "Aktivitäten ansehen",
            "Sicherheitseinstellungen",
            "Anmeldung prüfen",
        ],
        "close": [
            "Sie erhalten diese E-Mail, damit Sie über wichtige Änderungen an Ihrem Konto informiert sind.",
            "Ihr {org}-Sicherheitsteam",
            "Dies ist eine automatische Nachricht.",
            "Freundliche Grüße, {org}",
        ],
    },
    "es": {
        "subject": [
            "Nuevo inicio de sesión en tu cuenta de {org}",
            "Alerta de seguridad: inicio de sesión en {device}",
            "Tu código de verificación es {code}",
            "¿Has sido tú? Nuevo acceso desde {city}",
        ],
        "open": ["Hola {name},", "Hola,", "Estimado/a {name}:", "Hola {name}:"],
        "body": [
            "Se acaba de iniciar sesión en tu cuenta de {org} desde un dispositivo nuevo ({device}, cerca de {city}). Si has sido tú, no tienes que hacer nada.",
            "Tu código de verificación de un solo uso es {code}. Caduca en 10 minutos. No lo compartas con nadie.",
            "Hemos detectado un nuevo inicio de sesión el {date} desde {device}. Si no reconoce esta actividad, revise la actividad reciente y cambie su contraseña.",
            "Alguien ha accedido a su cuenta desde {city} con {device}. Si no ha sido usted, abra la configuración de seguridad.",
        ],
        "cta": [
            "Revisar actividad",
            "Ver actividad",
            "Configuración de seguridad",
            "Revisar acceso",
        ],
        "close": [
            "Recibes este correo para informarte de cambios importantes en tu cuenta.",
            "El equipo de seguridad de {org}",
            "Este es un mensaje automático.",
            "Un saludo, {org}",
        ],
    },
}

QUOTA: Phrases = {
    "en": {
        "subject": [
            "Your storage is {pct}% full",
            "You're running out of storage",
            "Mailbox almost full",
            "Storage limit reached on {org}",
        ],
        "open": ["Hi {name},", "Hello,", "Hi {name},", "Hello {name},"],
        "body": [
            "You have used {pct}% of your {org} storage. When you run out of space, new files will stop syncing and you may not be able to receive email.",
            "Your mailbox is almost full ({pct}% of 50 GB). Delete items you no longer need or archive older messages to free up space.",
            "Your account is using {pct}% of the storage included in your plan. You can free up space or upgrade to a larger plan at any time.",
            "You've reached {pct}% of your storage quota. Manage your storage to keep sending and receiving files.",
        ],
        "cta": ["Manage storage", "Free up space", "See plans", "View storage"],
        "close": [
            "Thanks, {org}",
            "This message was sent to the account administrator.",
            "The {org} team",
            "You can change notification settings at any time.",
        ],
    },
    "nl": {
        "subject": [
            "Je opslag is voor {pct}% vol",
            "Je opslagruimte raakt op",
            "Mailbox bijna vol",
            "Opslaglimiet bereikt bij {org}",
        ],
        "open": ["Hoi {name},", "Beste {name},", "Hallo,", "Beste gebruiker,"],
        "body": [
            "Je hebt {pct}% van je opslag bij {org} gebruikt. Als de ruimte op is, worden nieuwe bestanden niet meer gesynchroniseerd.",
            "Je mailbox is bijna vol ({pct}% van 50 GB). Verwijder items die je niet meer nodig hebt of archiveer oudere berichten.",
            "Je account gebruikt {pct}% van de opslag in je abonnement. Je kunt ruimte vrijmaken of op elk moment een groter abonnement kiezen.",
            "Je hebt {pct}% van je opslagquotum bereikt. Beheer je opslag om bestanden te blijven versturen.",
        ],
        "cta": ["Opslag beheren", "Ruimte vrijmaken", "Abonnementen bekijken", "Opslag bekijken"],
        "close": [
            "Groeten, {org}",
            "Dit bericht is verstuurd naar de beheerder van het account.",
            "Team {org}",
            "Je kunt meldingen altijd aanpassen.",
        ],
    },
    "pt": {
        "subject": [
            "Seu armazenamento está {pct}% cheio",
            "Seu espaço de armazenamento está acabando",
            "Caixa de correio quase cheia",
            "Limite de armazenamento atingido na {org}",
        ],
        "open": ["Olá {name},", "Oi {name},", "Olá,", "Prezado(a) usuário(a),"],
        "body": [
            "Você já usou {pct}% do seu armazenamento na {org}. Quando o espaço acabar, novos arquivos deixarão de ser sincronizados.",
            "Sua caixa de correio está quase cheia ({pct}% de 50 GB). Exclua itens desnecessários ou arquive mensagens antigas.",
            "Sua conta está usando {pct}% do armazenamento do seu plano. Você pode liberar espaço ou mudar de plano a qualquer momento.",
            "Você atingiu {pct}% da sua cota de armazenamento. Gerencie seu espaço para continuar enviando arquivos.",
        ],
        "cta": ["Gerenciar armazenamento", "Liberar espaço", "Ver planos", "Ver armazenamento"],
        "close": [
            "Obrigado, {org}",
            "Esta mensagem foi enviada ao administrador da conta.",
            "Equipe {org}",
            "Você pode alterar as notificações a qualquer momento.",
        ],
    },
    "fr": {
        "subject": [
            "Votre espace de stockage est plein à {pct} %",
            "Vous manquez d'espace de stockage",
            "Boîte aux lettres presque pleine",
            "Limite de stockage atteinte sur {org}",
        ],
        "open": ["Bonjour {name},", "Bonjour,", "Bonjour {name},", "Cher utilisateur,"],
        "body": [
            "Vous avez utilisé {pct} % de votre stockage {org}. Lorsque l'espace sera épuisé, les nouveaux fichiers ne seront plus synchronisés.",
            "Votre boîte aux lettres est presque pleine ({pct} % de 50 Go). Supprimez les éléments inutiles ou archivez les anciens messages.",
            "Votre compte utilise {pct} % du stockage inclus dans votre offre. Vous pouvez libérer de l'espace ou changer d'offre à tout moment.",
            "Vous avez atteint {pct} % de votre quota. Gérez votre stockage pour continuer à envoyer des fichiers.",
        ],
        "cta": ["Gérer le stockage", "Libérer de l'espace", "Voir les offres", "Voir le stockage"],
        "close": [
            "Merci, {org}",
            "Ce message a été envoyé à l'administrateur du compte.",
            "L'équipe {org}",
            "Vous pouvez modifier vos notifications à tout moment.",
        ],
    },
    "de": {
        "subject": [
            "Ihr Speicher ist zu {pct} % belegt",
            "Ihr Speicherplatz wird knapp",
            "Postfach fast voll",
            "Speicherlimit bei {org} erreicht",
        ],
        "open": ["Hallo {name},", "Guten Tag,", "Hallo,", "Guten Tag {name},"],
        "body": [
            "Sie haben {pct} % Ihres {org}-Speichers belegt. Wenn der Speicher voll ist, werden neue Dateien nicht mehr synchronisiert.",
            "Ihr Postfach ist fast voll ({pct} % von 50 GB). Löschen Sie nicht mehr benötigte Elemente oder archivieren Sie ältere Nachrichten.",
            "Ihr Konto nutzt {pct} % des Speichers Ihres Tarifs. Sie können jederzeit Platz schaffen oder in einen größeren Tarif wechseln.",
            "Sie haben {pct} % Ihres Speicherkontingents erreicht. Verwalten Sie Ihren Speicher, um weiter Dateien zu senden.",
        ],
        "cta": [
            "Speicher verwalten",
            "Speicherplatz freigeben",
            "Tarife ansehen",
            "Speicher ansehen",
        ],
        "close": [
            "Danke, {org}",
            "Diese Nachricht wurde an den Kontoadministrator gesendet.",
            "Ihr {org}-Team",
            "Benachrichtigungen können Sie jederzeit ändern.",
        ],
    },
    "es": {
        "subject": [
            "Tu almacenamiento está al {pct} %",
            "Te estás quedando sin espacio",
            "Buzón casi lleno",
            "Límite de almacenamiento alcanzado en {org}",
        ],
        "open": ["Hola {name},", "Hola,", "Estimado/a {name}:", "Hola {name}:"],
        "body": [
            "Has usado el {pct} % de tu almacenamiento en {org}. Cuando se agote el espacio, los archivos nuevos dejarán de sincronizarse.",
            "Su buzón está casi lleno ({pct} % de 50 GB). Elimine los elementos que ya no necesite o archive los mensajes antiguos.",
            "Su cuenta usa el {pct} % del almacenamiento incluido en su plan. Puede liberar espacio o cambiar de plan cuando quiera.",
            "Has alcanzado el {pct} % de tu cuota. Gestiona tu almacenamiento para seguir enviando archivos.",
        ],
        "cta": ["Gestionar almacenamiento", "Liberar espacio", "Ver planes", "Ver almacenamiento"],
        "close": [
            "Gracias, {org}",
            "Este mensaje se ha enviado al administrador de la cuenta.",
            "El equipo de {org}",
            "Puedes cambiar las notificaciones cuando quieras.",
        ],
    },
}

INVITE: Phrases = {
    "en": {
        "subject": [
            "{inviter} invited you to join {team} on {org}",
            '{inviter} shared "{doc}" with you',
            "Invitation: {doc} @ {date}",
            "You've been added to {team}",
        ],
        "open": ["Hi {name},", "Hello,", "Hi,", "Hello {name},"],
        "body": [
            "{inviter} has invited you to join the {team} workspace on {org}. Accept the invitation to start collaborating with your team.",
            '{inviter} shared a document with you: "{doc}". You can view and comment on it.',
            "{inviter} has invited you to a meeting: {doc}, on {date}. Join from your computer, tablet or phone.",
            "You were added to the team {team} by {inviter}. Open the team to see its channels and files.",
        ],
        "cta": ["Accept invitation", "Open", "Join meeting", "Open team"],
        "close": [
            "This invitation will expire in 7 days.",
            "You are receiving this email because {inviter} invited you.",
            "You can change your notification settings at any time.",
            "Sent by {org} on behalf of {inviter}.",
        ],
    },
    "nl": {
        "subject": [
            "{inviter} nodigt je uit voor {team} op {org}",
            '{inviter} heeft "{doc}" met je gedeeld',
            "Uitnodiging: {doc} op {date}",
            "Je bent toegevoegd aan {team}",
        ],
        "open": ["Hoi {name},", "Hallo,", "Beste {name},", "Hallo {name},"],
        "body": [
            "{inviter} heeft je uitgenodigd voor de werkruimte {team} op {org}. Accepteer de uitnodiging om samen te werken.",
            '{inviter} heeft een document met je gedeeld: "{doc}". Je kunt het bekijken en opmerkingen plaatsen.',
            "{inviter} nodigt je uit voor een vergadering: {doc}, op {date}. Neem deel via computer, tablet of telefoon.",
            "{inviter} heeft je toegevoegd aan het team {team}. Open het team om kanalen en bestanden te zien.",
        ],
        "cta": ["Uitnodiging accepteren", "Openen", "Deelnemen", "Team openen"],
        "close": [
            "Deze uitnodiging verloopt over 7 dagen.",
            "Je ontvangt deze e-mail omdat {inviter} je heeft uitgenodigd.",
            "Je kunt je meldingsinstellingen wijzigen.",
            "Verstuurd door {org} namens {inviter}.",
        ],
    },
    "pt": {
        "subject": [
            "{inviter} convidou você para {team} no {org}",
            '{inviter} compartilhou "{doc}" com você',
            "Convite: {doc} em {date}",
            "Você foi adicionado a {team}",
        ],
        "open": ["Olá {name},", "Oi,", "Olá,", "Oi {name},"],
        "body": [
            "{inviter} convidou você para o espaço de trabalho {team} no {org}. Aceite o convite para colaborar com sua equipe.",
            '{inviter} compartilhou um documento com você: "{doc}". Você pode visualizar e comentar.',
            "{inviter} convidou você para uma reunião: {doc}, em {date}. Participe pelo computador, tablet ou celular.",
            "{inviter} adicionou você à equipe {team}. Abra a equipe para ver canais e arquivos.",
        ],
        "cta": ["Aceitar convite", "Abrir", "Participar da reunião", "Abrir equipe"],
        "close": [
            "Este convite expira em 7 dias.",
            "Você recebeu este e-mail porque {inviter} convidou você.",
            "Você pode alterar suas configurações de notificação.",
            "Enviado por {org} em nome de {inviter}.",
        ],
    },
    "fr": {
        "subject": [
            "{inviter} vous invite à rejoindre {team} sur {org}",
            "{inviter} a partagé « {doc} » avec vous",
            "Invitation : {doc} le {date}",
            "Vous avez été ajouté à {team}",
        ],
        "open": ["Bonjour {name},", "Bonjour,", "Bonjour {name},", "Bonjour,"],
        "body": [
            "{inviter} vous invite à rejoindre l'espace de travail {team} sur {org}. Acceptez l'invitation pour collaborer avec votre équipe.",
            "{inviter} a partagé un document avec vous : « {doc} ». Vous pouvez le consulter et le commenter.",
            "{inviter} vous invite à une réunion : {doc}, le {date}. Participez depuis un ordinateur, une tablette ou un téléphone.",
            "{inviter} vous a ajouté à l'équipe {team}. Ouvrez l'équipe pour voir ses canaux et ses fichiers.",
        ],
        "cta": ["Accepter l'invitation", "Ouvrir", "Rejoindre la réunion", "Ouvrir l'équipe"],
        "close": [
            "Cette invitation expire dans 7 jours.",
            "Vous recevez cet e-mail car {inviter} vous a invité.",
            "Vous pouvez modifier vos paramètres de notification.",
            "Envoyé par {org} pour le compte de {inviter}.",
        ],
    },
    "de": {
        "subject": [
            "{inviter} hat Sie zu {team} auf {org} eingeladen",
            "{inviter} hat „{doc}“ für Sie freigegeben",
            "Einladung: {doc} am {date}",
            "Sie wurden zu {team} hinzugefügt",
        ],
        "open": ["Hallo {name},", "Guten Tag,", "Hallo,", "Guten Tag {name},"],
        "body": [
            "{inviter} hat Sie in den Arbeitsbereich {team} auf {org} eingeladen. Nehmen Sie die Einladung an, um mit Ihrem Team zusammenzuarbeiten.",
            "{inviter} hat ein Dokument für Sie freigegeben: „{doc}“. Sie können es ansehen und kommentieren.",
            "{inviter} lädt Sie zu einer Besprechung ein: {doc}, am {date}. Nehmen Sie per Computer, Tablet oder Telefon teil.",
            "{inviter} hat Sie zum Team {team} hinzugefügt. Öffnen Sie das Team, um Kanäle und Dateien zu sehen.",
        ],
        "cta": ["Einladung annehmen", "Öffnen", "An Besprechung teilnehmen", "Team öffnen"],
        "close": [
            "Diese Einladung läuft in 7 Tagen ab.",
            "Sie erhalten diese E-Mail, weil {inviter} Sie eingeladen hat.",
            "Sie können Ihre Benachrichtigungseinstellungen ändern.",
            "Gesendet von {org} im Auftrag von {inviter}.",
        ],
    },
    "es": {
        "subject": [
            "{inviter} te ha invitado a {team} en {org}",
            '{inviter} ha compartido "{doc}" contigo',
            "Invitación: {doc} el {date}",
            "Te han añadido a {team}",
        ],
        "open": ["Hola {name},", "Hola,", "Hola {name}:", "Buenos días,"],
        "body": [
            "{inviter} te ha invitado al espacio de trabajo {team} en {org}. Acepta la invitación para colaborar con tu equipo.",
            '{inviter} ha compartido un documento contigo: "{doc}". Puedes verlo y comentarlo.',
            "{inviter} te invita a una reunión: {doc}, el {date}. Únete desde tu ordenador, tableta o teléfono.",
            "{inviter} te ha añadido al equipo {team}. Abre el equipo para ver sus canales y archivos.",
        ],
        "cta": ["Aceptar invitación", "Abrir", "Unirse a la reunión", "Abrir equipo"],
        "close": [
            "Esta invitación caduca en 7 días.",
            "Recibes este correo porque {inviter} te ha invitado.",
            "Puedes cambiar la configuración de notificaciones.",
            "Enviado por {org} en nombre de {inviter}.",
        ],
    },
}

LAB: Phrases = {
    "en": {
        "subject": [
            "Results available: order {inv}",
            "{org}: new results for your practice",
            "Lab report ready for review",
            "Critical value callback log - order {inv}",
        ],
        "open": ["Dear provider,", "Hello {name},", "Dear {name},", "To the ordering clinician,"],
        "body": [
            "New results for {n} patients are available in the {org} provider portal. For privacy, no patient information is included in this email.",
            "The laboratory report for order {inv} is complete and has been sent to your EHR interface. Sign in to the provider portal to review it.",
            "Results for specimens received on {date} have been released. Abnormal results were also phoned to your office as per your callback preferences.",
            "Your requisition {inv} has been processed. Please review the results in your usual results inbox.",
        ],
        "cta": ["Open provider portal", "View results", "Sign in to review", "Results inbox"],
        "close": [
            "{org} Client Services, available 24/7 at 1-800-555-0199.",
            "This message contains no protected health information.",
            "Thank you for choosing {org}.",
            "{org} Laboratory Services",
        ],
    },
    "nl": {
        "subject": [
            "Uitslagen beschikbaar: aanvraag {inv}",
            "{org}: nieuwe uitslagen voor uw praktijk",
            "Labrapport klaar",
            "Uitslag aanvraag {inv}",
        ],
        "open": ["Geachte collega,", "Beste {name},", "Geachte {name},", "Aan de aanvrager,"],
        "body": [
            "Er zijn nieuwe uitslagen voor {n} patiënten beschikbaar in het zorgverlenersportaal van {org}. Om privacyredenen staan er geen patiëntgegevens in deze e-mail.",
            "Het laboratoriumrapport voor aanvraag {inv} is afgerond en via Edifact/ZorgMail naar uw HIS verstuurd.",
            "De uitslagen van materiaal ontvangen op {date} zijn vrijgegeven. Afwijkende waarden zijn volgens afspraak telefonisch doorgegeven.",
            "Uw aanvraag {inv} is verwerkt. U vindt de uitslagen in uw HIS.",
        ],
        "cta": ["Naar het portaal", "Uitslagen bekijken", "Inloggen", "Uitslagen openen"],
        "close": [
            "Met collegiale groet, {org}",
            "Deze e-mail bevat geen medische gegevens.",
            "Klantenservice {org}: 088 555 0199",
            "{org} Medisch Laboratorium",
        ],
    },
    "pt": {
        "subject": [
            "Resultados disponíveis: pedido {inv}",
            "{org}: novos resultados para sua clínica",
            "Laudo disponível para revisão",
            "Resultado do pedido {inv}",
        ],
        "open": [
            "Prezado(a) Dr(a). {name},",
            "Olá {name},",
            "Prezado(a) {name},",
            "Ao médico solicitante,",
        ],
        "body": [
            "Novos resultados de {n} pacientes estão disponíveis no portal médico {org}. Por privacidade, nenhuma informação de paciente é enviada por e-mail.",
            "O laudo do pedido {inv} foi concluído e enviado ao seu sistema. Acesse o portal para revisar.",
            "Os resultados das amostras recebidas em {date} foram liberados. Valores críticos foram comunicados por telefone.",
            "Seu pedido {inv} foi processado. Consulte os resultados no portal habitual.",
        ],
        "cta": ["Acessar portal médico", "Ver resultados", "Entrar para revisar", "Abrir laudos"],
        "close": [
            "Central de atendimento {org}: 0800 555 0199",
            "Esta mensagem não contém dados de pacientes.",
            "Obrigado por escolher o {org}.",
            "{org} Medicina Diagnóstica",
        ],
    },
    "fr": {
        "subject": [
            "Résultats disponibles : demande {inv}",
            "{org} : nouveaux résultats pour votre cabinet",
            "Compte rendu disponible",
            "Résultats de la demande {inv}",
        ],
        "open": ["Cher confrère,", "Bonjour {name},", "Docteur,", "Au prescripteur,"],
        "body": [
            "De nouveaux résultats pour {n} patients sont disponibles sur le portail professionnel {org}. Par confidentialité, aucune donnée patient ne figure dans ce message.",
            "Le compte rendu de la demande {inv} est terminé et a été transmis à votre logiciel via la messagerie sécurisée de santé.",
            "Les résultats des prélèvements reçus le {date} ont été validés. Les valeurs critiques vous ont été téléphonées.",
            "Votre demande {inv} a été traitée. Retrouvez les résultats dans votre messagerie habituelle.",
        ],
        "cta": ["Accéder au portail", "Voir les résultats", "Se connecter", "Ouvrir les résultats"],
        "close": [
            "Confraternellement, le laboratoire {org}",
            "Ce message ne contient aucune donnée de santé.",
            "Service clients {org} : 01 55 55 01 99",
            "{org} Biologie médicale",
        ],
    },
    "de": {
        "subject": [
            "Befunde verfügbar: Auftrag {inv}",
            "{org}: neue Befunde für Ihre Praxis",
            "Laborbefund liegt vor",
            "Befund zu Auftrag {inv}",
        ],
        "open": [
            "Sehr geehrte Frau Kollegin, sehr geehrter Herr Kollege,",
            "Hallo {name},",
            "Guten Tag {name},",
            "An die einsendende Praxis,",
        ],
        "body": [
            "Für {n} Patientinnen und Patienten liegen neue Befunde im Einsenderportal von {org} vor. Aus Datenschutzgründen enthält diese E-Mail keine Patientendaten.",
            "Der Laborbefund zu Auftrag {inv} ist abgeschlossen und wurde per LDT an Ihr Praxisverwaltungssystem übertragen.",
            "Die Befunde der am {date} eingegangenen Proben sind freigegeben. Kritische Werte wurden Ihnen telefonisch mitgeteilt.",
            "Ihr Auftrag {inv} wurde bearbeitet. Die Befunde finden Sie wie gewohnt in Ihrem System.",
        ],
        "cta": ["Zum Einsenderportal", "Befunde ansehen", "Anmelden", "Befunde öffnen"],
        "close": [
            "Mit kollegialen Grüßen, {org}",
            "Diese Nachricht enthält keine Gesundheitsdaten.",
            "Kundenservice {org}: 0800 5550199",
            "{org} Labormedizin",
        ],
    },
    "es": {
        "subject": [
            "Resultados disponibles: petición {inv}",
            "{org}: nuevos resultados para su consulta",
            "Informe de laboratorio disponible",
            "Resultados de la petición {inv}",
        ],
        "open": [
            "Estimado/a doctor/a:",
            "Hola {name},",
            "Estimado/a {name}:",
            "Al médico solicitante:",
        ],
        "body": [
            "Hay nuevos resultados de {n} pacientes disponibles en el portal profesional de {org}. Por privacidad, este correo no incluye datos de pacientes.",
            "El informe de la petición {inv} está terminado y se ha enviado a su sistema de historia clínica.",
            "Los resultados de las muestras recibidas el {date} ya están validados. Los valores críticos se le comunicaron por teléfono.",
            "Su petición {inv} ha sido procesada. Consulte los resultados en su bandeja habitual.",
        ],
        "cta": ["Acceder al portal", "Ver resultados", "Iniciar sesión", "Abrir resultados"],
        "close": [
            "Atentamente, {org}",
            "Este mensaje no contiene datos de salud.",
            "Atención al cliente {org}: 900 555 199",
            "{org} Análisis Clínicos",
        ],
    },
}

CLAIMS: Phrases = {
    "en": {
        "subject": [
            "Remittance advice available - check {inv}",
            "Claim status update: {n} claims processed",
            "ERA/835 files ready for download",
            "Prior authorization {inv} decision",
        ],
        "open": ["Hello,", "Dear provider,", "Hi {name},", "Dear billing contact,"],
        "body": [
            "An electronic remittance advice for payment {inv} ({amount}) was posted on {date}. Sign in to download the 835 file or view the EOB.",
            "{n} claims submitted in batch {inv} were accepted by the payer. 2 claims were rejected for missing information; see the rejection report for details.",
            "Your weekly claim status report is ready. Claims pending more than 30 days are listed with the payer's reason codes.",
            "A decision was made on prior authorization request {inv}. Sign in to the provider portal to view the determination letter.",
        ],
        "cta": ["View remittance", "Open claim report", "Download reports", "View determination"],
        "close": [
            "Provider Services, {org}",
            "Do not reply to this automated message.",
            "Questions? Contact your account manager.",
            "Thank you for submitting claims electronically.",
        ],
    },
    "nl": {
        "subject": [
            "Retourinformatie declaratie {inv} beschikbaar",
            "Status declaraties: {n} verwerkt",
            "Nieuwe betaalspecificatie",
            "Machtiging {inv} beoordeeld",
        ],
        "open": ["Geachte zorgaanbieder,", "Beste {name},", "Hallo,", "Geachte heer/mevrouw,"],
        "body": [
            "De retourinformatie van declaratie {inv} ({amount}) staat sinds {date} klaar in VECOZO. Log in om de betaalspecificatie te downloaden.",
            "Van declaratiebestand {inv} zijn {n} prestaties goedgekeurd. 2 regels zijn afgewezen; bekijk het retourbericht voor de reden.",
            "Uw wekelijkse overzicht van openstaande declaraties staat klaar, met de afwijzingscodes van de zorgverzekeraar.",
            "Er is een besluit genomen over machtigingsaanvraag {inv}. Log in op het zorgverlenersportaal om het besluit te lezen.",
        ],
        "cta": [
            "Retourinformatie bekijken",
            "Overzicht openen",
            "Bestanden downloaden",
            "Besluit bekijken",
        ],
        "close": [
            "Zorgaanbiedersservice, {org}",
            "Dit is een automatisch bericht.",
            "Vragen? Neem contact op met uw accountmanager.",
            "Met vriendelijke groet, {org}",
        ],
    },
    "pt": {
        "subject": [
            "Demonstrativo de pagamento disponível - lote {inv}",
            "Status das guias: {n} processadas",
            "Arquivos de retorno disponíveis",
            "Autorização {inv} analisada",
        ],
        "open": [
            "Prezado prestador,",
            "Olá {name},",
            "Olá,",
            "Prezado(a) responsável pelo faturamento,",
        ],
        "body": [
            "O demonstrativo de pagamento do lote {inv} ({amount}) foi disponibilizado em {date}. Acesse o portal do prestador para baixar o arquivo TISS.",
            "{n} guias do lote {inv} foram aceitas pela operadora. 2 guias foram glosadas por falta de informação; veja o relatório de glosas.",
            "O relatório semanal de guias pendentes está disponível, com os motivos informados pela operadora.",
            "A solicitação de autorização {inv} foi analisada. Acesse o portal para ver o parecer.",
        ],
        "cta": ["Ver demonstrativo", "Abrir relatório", "Baixar arquivos", "Ver parecer"],
        "close": [
            "Central do prestador, {org}",
            "Esta é uma mensagem automática.",
            "Dúvidas? Fale com seu gestor de contas.",
            "Atenciosamente, {org}",
        ],
    },
    "fr": {
        "subject": [
            "Retour NOEMIE disponible - lot {inv}",
            "Suivi des télétransmissions : {n} feuilles traitées",
            "Relevé de paiements disponible",
            "Demande d'accord préalable {inv}",
        ],
        "open": [
            "Madame, Monsieur,",
            "Bonjour {name},",
            "Bonjour,",
            "Cher professionnel de santé,",
        ],
        "body": [
            "Le retour de paiement du lot {inv} ({amount}) est disponible depuis le {date}. Connectez-vous pour télécharger le relevé.",
            "{n} feuilles de soins du lot {inv} ont été acceptées. 2 ont été rejetées pour information manquante ; consultez le rapport de rejets.",
            "Votre relevé hebdomadaire des télétransmissions en attente est disponible, avec les motifs communiqués par l'organisme.",
            "Une décision a été prise concernant la demande d'accord préalable {inv}. Consultez-la dans votre espace professionnel.",
        ],
        "cta": ["Voir le relevé", "Ouvrir le rapport", "Télécharger", "Voir la décision"],
        "close": [
            "Service aux professionnels, {org}",
            "Message automatique, merci de ne pas répondre.",
            "Une question ? Contactez votre conseiller.",
            "Cordialement, {org}",
        ],
    },
    "de": {
        "subject": [
            "Zahlungsavis verfügbar - Lauf {inv}",
            "Abrechnungsstatus: {n} Fälle verarbeitet",
            "Neue Abrechnungsdateien verfügbar",
            "Kostenübernahme {inv} entschieden",
        ],
        "open": [
            "Sehr geehrte Damen und Herren,",
            "Hallo {name},",
            "Guten Tag,",
            "Sehr geehrte Praxis,",
        ],
        "body": [
            "Das Zahlungsavis zu Abrechnungslauf {inv} ({amount}) steht seit dem {date} bereit. Melden Sie sich an, um die Abrechnungsdatei herunterzuladen.",
            "{n} Fälle aus Lauf {inv} wurden angenommen. 2 Fälle wurden wegen fehlender Angaben abgewiesen; Details finden Sie im Fehlerprotokoll.",
            "Ihre wöchentliche Übersicht offener Abrechnungsfälle ist verfügbar, mit den Begründungen der Kostenträger.",
            "Über den Antrag auf Kostenübernahme {inv} wurde entschieden. Den Bescheid finden Sie im Leistungserbringerportal.",
        ],
        "cta": [
            "Zahlungsavis ansehen",
            "Bericht öffnen",
            "Dateien herunterladen",
            "Bescheid ansehen",
        ],
        "close": [
            "Ihr Leistungserbringer-Service, {org}",
            "Dies ist eine automatisch erzeugte Nachricht.",
            "Fragen? Wenden Sie sich an Ihre Ansprechpartnerin.",
            "Mit freundlichen Grüßen, {org}",
        ],
    },
    "es": {
        "subject": [
            "Liquidación disponible - remesa {inv}",
            "Estado de facturación: {n} actos procesados",
            "Nuevos ficheros de liquidación",
            "Autorización {inv} resuelta",
        ],
        "open": [
            "Estimado proveedor:",
            "Hola {name},",
            "Buenos días,",
            "Estimado/a responsable de facturación:",
        ],
        "body": [
            "La liquidación de la remesa {inv} ({amount}) está disponible desde el {date}. Acceda al portal para descargar el detalle.",
            "La aseguradora ha aceptado {n} actos de la remesa {inv}. 2 han sido rechazados por falta de datos; consulte el informe de incidencias.",
            "Su informe semanal de facturación pendiente está disponible, con los motivos indicados por la aseguradora.",
            "Se ha resuelto la solicitud de autorización {inv}. Consulte la resolución en el portal de proveedores.",
        ],
        "cta": ["Ver liquidación", "Abrir informe", "Descargar ficheros", "Ver resolución"],
        "close": [
            "Atención a proveedores, {org}",
            "Mensaje automático, no responda.",
            "¿Dudas? Contacte con su gestor.",
            "Saludos, {org}",
        ],
    },
}

ORDER: Phrases = {
    "en": {
        "subject": [
            "Order confirmation #{inv}",
            "Your order #{inv} has shipped",
            "Delivery scheduled for {date}",
            "Backorder notice for order {inv}",
        ],
        "open": ["Hi {name},", "Thank you for your order,", "Hello {name},", "Dear customer,"],
        "body": [
            "Thanks for ordering from {org}. We've received order #{inv} ({amount}) and will email you when it ships.",
            "Good news: your order #{inv} is on its way. Track the shipment with the carrier using the link below.",
            "Your delivery is scheduled for {date} between 9:00 and 13:00. Someone will need to sign for controlled items.",
            "One item on order {inv} is on backorder and will ship separately. The rest of your order ships today; you will not be charged twice for shipping.",
        ],
        "cta": ["View order", "Track package", "Manage delivery", "Order details"],
        "close": [
            "Thank you for choosing {org}.",
            "Customer service: 1-800-555-0177, Mon-Fri 8-6.",
            "The {org} fulfilment team",
            "Questions about your order? Reply to this email.",
        ],
    },
    "nl": {
        "subject": [
            "Orderbevestiging #{inv}",
            "Je bestelling #{inv} is verzonden",
            "Levering gepland op {date}",
            "Nalevering voor bestelling {inv}",
        ],
        "open": ["Beste {name},", "Bedankt voor je bestelling,", "Hallo {name},", "Geachte klant,"],
        "body": [
            "Bedankt voor je bestelling bij {org}. We hebben bestelling #{inv} ({amount}) ontvangen en laten je weten wanneer hij verzonden is.",
            "Goed nieuws: je bestelling #{inv} is onderweg. Volg de zending bij de vervoerder via de link hieronder.",
            "De levering staat gepland op {date} tussen 9:00 en 13:00 uur.",
            "Eén artikel uit bestelling {inv} wordt later nageleverd. De rest wordt vandaag verzonden; je betaalt geen extra verzendkosten.",
        ],
        "cta": ["Bestelling bekijken", "Zending volgen", "Levering beheren", "Orderdetails"],
        "close": [
            "Bedankt voor je bestelling bij {org}.",
            "Klantenservice: 085 555 0177, ma-vr 8-18 uur.",
            "Team {org}",
            "Vragen? Beantwoord deze e-mail.",
        ],
    },
    "pt": {
        "subject": [
            "Confirmação do pedido nº {inv}",
            "Seu pedido nº {inv} foi enviado",
            "Entrega agendada para {date}",
            "Aviso de item em falta no pedido {inv}",
        ],
        "open": ["Olá {name},", "Obrigado pelo seu pedido,", "Oi {name},", "Prezado cliente,"],
        "body": [
            "Obrigado por comprar na {org}. Recebemos o pedido nº {inv} ({amount}) e avisaremos quando for enviado.",
            "Boa notícia: seu pedido nº {inv} está a caminho. Acompanhe a entrega pelo link abaixo.",
            "Sua entrega está agendada para {date}, entre 9h e 13h.",
            "Um item do pedido {inv} está em falta e será enviado separadamente, sem custo adicional de frete.",
        ],
        "cta": ["Ver pedido", "Rastrear entrega", "Gerenciar entrega", "Detalhes do pedido"],
        "close": [
            "Obrigado por escolher a {org}.",
            "Atendimento: 0800 555 0177, seg-sex 8h-18h.",
            "Equipe {org}",
            "Dúvidas? Responda a este e-mail.",
        ],
    },
    "fr": {
        "subject": [
            "Confirmation de commande n° {inv}",
            "Votre commande n° {inv} a été expédiée",
            "Livraison prévue le {date}",
            "Article en rupture dans la commande {inv}",
        ],
        "open": ["Bonjour {name},", "Merci pour votre commande,", "Bonjour,", "Cher client,"],
        "body": [
            "Merci pour votre commande chez {org}. Nous avons bien reçu la commande n° {inv} ({amount}) et vous préviendrons lors de l'expédition.",
            "Bonne nouvelle : votre commande n° {inv} est en route. Suivez le colis avec le lien ci-dessous.",
            "Votre livraison est prévue le {date} entre 9 h et 13 h.",
            "Un article de la commande {inv} est en rupture et sera expédié séparément, sans frais de port supplémentaires.",
        ],
        "cta": [
            "Voir la commande",
            "Suivre le colis",
            "Gérer la livraison",
            "Détails de la commande",
        ],
        "close": [
            "Merci d'avoir choisi {org}.",
            "Service client : 01 55 55 01 77, du lundi au vendredi.",
            "L'équipe {org}",
            "Une question ? Répondez à cet e-mail.",
        ],
    },
    "de": {
        "subject": [
            "Bestellbestätigung Nr. {inv}",
            "Ihre Bestellung Nr. {inv} wurde versandt",
            "Lieferung geplant am {date}",
            "Teillieferung zu Bestellung {inv}",
        ],
        "open": [
            "Hallo {name},",
            "Vielen Dank für Ihre Bestellung,",
            "Guten Tag {name},",
            "Sehr geehrte Kundin, sehr geehrter Kunde,",
        ],
        "body": [
            "Vielen Dank für Ihre Bestellung bei {org}. Wir haben Bestellung Nr. {inv} ({amount}) erhalten und melden uns, sobald sie versandt wird.",
            "Gute Nachricht: Ihre Bestellung Nr. {inv} ist unterwegs. Verfolgen Sie die Sendung über den Link unten.",
            "Ihre Lieferung ist für den {date} zwischen 9 und 13 Uhr geplant.",
            "Ein Artikel aus Bestellung {inv} ist nicht vorrätig und wird nachgeliefert. Zusätzliche Versandkosten entstehen nicht.",
        ],
        "cta": ["Bestellung ansehen", "Sendung verfolgen", "Lieferung verwalten", "Bestelldetails"],
        "close": [
            "Danke, dass Sie bei {org} bestellt haben.",
            "Kundenservice: 0800 5550177, Mo-Fr 8-18 Uhr.",
            "Ihr {org}-Team",
            "Fragen? Antworten Sie einfach auf diese E-Mail.",
        ],
    },
    "es": {
        "subject": [
            "Confirmación del pedido n.º {inv}",
            "Tu pedido n.º {inv} ha sido enviado",
            "Entrega prevista el {date}",
            "Artículo pendiente en el pedido {inv}",
        ],
        "open": ["Hola {name},", "Gracias por tu pedido,", "Hola,", "Estimado cliente:"],
        "body": [
            "Gracias por comprar en {org}. Hemos recibido el pedido n.º {inv} ({amount}) y te avisaremos cuando salga.",
            "Buenas noticias: tu pedido n.º {inv} está en camino. Sigue el envío con el enlace de abajo.",
            "La entrega está prevista para el {date} entre las 9:00 y las 13:00.",
            "Un artículo del pedido {inv} está agotado y se enviará por separado, sin gastos de envío adicionales.",
        ],
        "cta": ["Ver pedido", "Seguir envío", "Gestionar entrega", "Detalles del pedido"],
        "close": [
            "Gracias por elegir {org}.",
            "Atención al cliente: 900 555 177, de lunes a viernes.",
            "El equipo de {org}",
            "¿Dudas? Responde a este correo.",
        ],
    },
}

PAYROLL: Phrases = {
    "en": {
        "subject": [
            "Your payslip for {date} is available",
            "Timesheet reminder: submit by Friday",
            "Open enrollment starts {date}",
            "Your annual tax statement is ready",
        ],
        "open": ["Hi {name},", "Hello {name},", "Dear team,", "Hello,"],
        "body": [
            "Your payslip for the period ending {date} is now available in the employee portal. Net pay will be deposited on the usual pay date.",
            "Please submit your timesheet for this pay period by Friday 5 pm so payroll can be processed on time.",
            "Benefits open enrollment runs from {date} for two weeks. Review your health, dental and retirement elections in the benefits portal.",
            "Your annual tax statement is ready to view and download in the employee self-service portal.",
        ],
        "cta": ["View payslip", "Submit timesheet", "Review benefits", "Open self-service"],
        "close": [
            "Payroll team, {org}",
            "Questions about your pay? Contact HR.",
            "This message was sent by {org} on behalf of your employer.",
            "Thanks, HR",
        ],
    },
    "nl": {
        "subject": [
            "Je loonstrook van {date} staat klaar",
            "Herinnering: lever je urenbriefje in",
            "Je jaaropgaaf is beschikbaar",
            "Keuzemenu arbeidsvoorwaarden geopend",
        ],
        "open": ["Hoi {name},", "Beste {name},", "Beste collega's,", "Hallo,"],
        "body": [
            "Je loonstrook over de periode tot {date} staat klaar in de medewerkersportal. Het salaris wordt op de gebruikelijke datum overgemaakt.",
            "Lever je uren van deze periode uiterlijk vrijdag 17:00 uur in, zodat de salarisverwerking op tijd kan plaatsvinden.",
            "Je jaaropgaaf staat klaar in de medewerkersportal.",
            "Vanaf {date} kun je twee weken lang je keuzes in het keuzemenu arbeidsvoorwaarden maken.",
        ],
        "cta": [
            "Loonstrook bekijken",
            "Uren invoeren",
            "Jaaropgaaf downloaden",
            "Naar het keuzemenu",
        ],
        "close": [
            "Salarisadministratie, {org}",
            "Vragen over je salaris? Neem contact op met HR.",
            "Verstuurd door {org} namens je werkgever.",
            "Groet, HR",
        ],
    },
    "pt": {
        "subject": [
            "Seu holerite de {date} está disponível",
            "Lembrete: registre seu ponto",
            "Informe de rendimentos disponível",
            "Período de adesão aos benefícios",
        ],
        "open": ["Olá {name},", "Oi {name},", "Prezada equipe,", "Olá,"],
        "body": [
            "Seu holerite referente ao período encerrado em {date} já está disponível no portal do colaborador.",
            "Por favor, ajuste seu registro de ponto até sexta-feira às 17h para que a folha seja processada no prazo.",
            "O informe de rendimentos do ano já pode ser consultado no portal do colaborador.",
            "O período de adesão aos benefícios começa em {date} e dura duas semanas.",
        ],
        "cta": ["Ver holerite", "Ajustar ponto", "Baixar informe", "Ver benefícios"],
        "close": [
            "Departamento pessoal, {org}",
            "Dúvidas sobre o pagamento? Fale com o RH.",
            "Enviado pela {org} em nome do seu empregador.",
            "Abraços, RH",
        ],
    },
    "fr": {
        "subject": [
            "Votre bulletin de paie de {date} est disponible",
            "Rappel : validez vos temps",
            "Votre attestation fiscale est disponible",
            "Ouverture de la campagne mutuelle",
        ],
        "open": ["Bonjour {name},", "Bonjour,", "Chers collègues,", "Bonjour {name},"],
        "body": [
            "Votre bulletin de paie pour la période se terminant le {date} est disponible dans votre coffre-fort numérique.",
            "Merci de valider vos temps de la période avant vendredi 17 h pour que la paie soit traitée à temps.",
            "Votre attestation fiscale annuelle est disponible dans l'espace salarié.",
            "La campagne d'adhésion à la mutuelle d'entreprise s'ouvre le {date} pour deux semaines.",
        ],
        "cta": [
            "Voir le bulletin",
            "Valider mes temps",
            "Télécharger l'attestation",
            "Voir les garanties",
        ],
        "close": [
            "Service paie, {org}",
            "Une question sur votre paie ? Contactez les RH.",
            "Envoyé par {org} pour le compte de votre employeur.",
            "Cordialement, les RH",
        ],
    },
    "de": {
        "subject": [
            "Ihre Gehaltsabrechnung für {date} ist verfügbar",
            "Erinnerung: Arbeitszeiten bestätigen",
            "Ihre Lohnsteuerbescheinigung liegt bereit",
            "Anmeldung zu Zusatzleistungen geöffnet",
        ],
        "open": ["Hallo {name},", "Guten Tag {name},", "Liebe Kolleginnen und Kollegen,", "Hallo,"],
        "body": [
            "Ihre Gehaltsabrechnung für den Zeitraum bis {date} steht im Mitarbeiterportal bereit.",
            "Bitte bestätigen Sie Ihre Arbeitszeiten bis Freitag 17 Uhr, damit die Lohnabrechnung pünktlich erfolgen kann.",
            "Ihre elektronische Lohnsteuerbescheinigung steht im Mitarbeiterportal zum Download bereit.",
            "Ab dem {date} können Sie zwei Wochen lang Ihre Zusatzleistungen wählen.",
        ],
        "cta": [
            "Abrechnung ansehen",
            "Zeiten bestätigen",
            "Bescheinigung herunterladen",
            "Leistungen ansehen",
        ],
        "close": [
            "Ihre Lohnbuchhaltung, {org}",
            "Fragen zur Abrechnung? Wenden Sie sich an die Personalabteilung.",
            "Gesendet von {org} im Auftrag Ihres Arbeitgebers.",
            "Viele Grüße, HR",
        ],
    },
    "es": {
        "subject": [
            "Tu nómina de {date} está disponible",
            "Recordatorio: registra tus horas",
            "Tu certificado de retenciones está disponible",
            "Abierto el plazo de beneficios sociales",
        ],
        "open": ["Hola {name},", "Hola,", "Estimado equipo:", "Buenos días {name},"],
        "body": [
            "Tu nómina del periodo que termina el {date} ya está disponible en el portal del empleado.",
            "Registra tus horas de este periodo antes del viernes a las 17:00 para que la nómina se procese a tiempo.",
            "Tu certificado anual de retenciones ya se puede descargar en el portal del empleado.",
            "El plazo para elegir beneficios sociales se abre el {date} durante dos semanas.",
        ],
        "cta": ["Ver nómina", "Registrar horas", "Descargar certificado", "Ver beneficios"],
        "close": [
            "Departamento de nóminas, {org}",
            "¿Dudas sobre tu nómina? Contacta con RR. HH.",
            "Enviado por {org} en nombre de tu empresa.",
            "Saludos, RR. HH.",
        ],
    },
}

NEWSLETTER: Phrases = {
    "en": {
        "subject": [
            "{org} news: what's new this month",
            "Webinar: billing changes for {date}",
            "Save {pct}% on exam gloves this week",
            "Product update: faster claims and new reports",
        ],
        "open": ["Hi {name},", "Hello,", "Dear practice manager,", "Hi there,"],
        "body": [
            "This month: new coding guidance for telehealth visits, a checklist for your annual security risk assessment, and three tips to reduce claim denials.",
            "Join our free 45-minute webinar on {date} to learn what the new fee schedule means for your practice. Seats are limited.",
            "This week only, save {pct}% on nitrile exam gloves and sharps containers. Free shipping on orders over $150.",
            "We've released faster claim scrubbing and two new reports for aging receivables. Read the release notes to learn more.",
        ],
        "cta": ["Read more", "Register now", "Shop the sale", "See what's new"],
        "close": [
            "You are receiving this because you subscribed to {org} updates.",
            "Manage your email preferences or unsubscribe.",
            "{org}, 100 Main Street, Suite 400, Springfield",
            "Don't want these emails? Unsubscribe.",
        ],
    },
    "nl": {
        "subject": [
            "Nieuwsbrief {org}: dit is er nieuw",
            "Webinar: wijzigingen in de declaratieregels",
            "{pct}% korting op onderzoekshandschoenen",
            "Productupdate: sneller declareren",
        ],
        "open": ["Beste {name},", "Hallo,", "Beste praktijkmanager,", "Hoi,"],
        "body": [
            "Deze maand: nieuwe regels voor videoconsulten, een checklist voor de jaarlijkse risicoanalyse informatiebeveiliging en drie tips om afwijzingen te voorkomen.",
            "Doe mee aan ons gratis webinar van 45 minuten op {date} over de nieuwe tarieven. Er zijn beperkt plaatsen.",
            "Alleen deze week {pct}% korting op nitril handschoenen en naaldcontainers. Gratis verzending vanaf 150 euro.",
            "We hebben het controleren van declaraties versneld en twee nieuwe rapportages toegevoegd.",
        ],
        "cta": ["Lees meer", "Nu aanmelden", "Bekijk de aanbieding", "Bekijk wat nieuw is"],
        "close": [
            "Je ontvangt deze nieuwsbrief omdat je je hebt aangemeld.",
            "Voorkeuren wijzigen of afmelden.",
            "{org}, Stationsplein 12, Utrecht",
            "Geen nieuwsbrief meer ontvangen? Afmelden.",
        ],
    },
    "pt": {
        "subject": [
            "Novidades {org} deste mês",
            "Webinar: mudanças no faturamento",
            "{pct}% de desconto em luvas de procedimento",
            "Atualização do produto: faturamento mais rápido",
        ],
        "open": ["Olá {name},", "Olá,", "Prezado gestor,", "Oi,"],
        "body": [
            "Neste mês: novas regras para teleconsultas, um checklist de segurança da informação para clínicas e três dicas para reduzir glosas.",
            "Participe do nosso webinar gratuito de 45 minutos em {date} sobre a nova tabela de procedimentos. Vagas limitadas.",
            "Só esta semana, {pct}% de desconto em luvas nitrílicas e coletores de perfurocortantes. Frete grátis acima de R$ 500.",
            "Lançamos a conferência de guias mais rápida e dois novos relatórios de contas a receber.",
        ],
        "cta": ["Leia mais", "Inscreva-se", "Ver ofertas", "Ver novidades"],
        "close": [
            "Você recebe este e-mail porque se cadastrou nas novidades da {org}.",
            "Gerenciar preferências ou descadastrar.",
            "{org}, Av. Paulista 1000, São Paulo",
            "Não quer mais receber? Descadastre-se.",
        ],
    },
    "fr": {
        "subject": [
            "Les actualités {org} du mois",
            "Webinaire : nouveautés de la facturation",
            "-{pct} % sur les gants d'examen",
            "Mise à jour : télétransmission plus rapide",
        ],
        "open": ["Bonjour {name},", "Bonjour,", "Madame, Monsieur,", "Bonjour à tous,"],
        "body": [
            "Ce mois-ci : les nouvelles règles de la téléconsultation, une check-list sécurité pour votre cabinet et trois conseils pour limiter les rejets.",
            "Participez à notre webinaire gratuit de 45 minutes le {date} sur la nouvelle convention. Places limitées.",
            "Cette semaine seulement, {pct} % de remise sur les gants nitrile et les collecteurs d'aiguilles. Livraison offerte dès 150 €.",
            "Nous avons accéléré les contrôles de facturation et ajouté deux nouveaux tableaux de bord.",
        ],
        "cta": ["Lire la suite", "S'inscrire", "Voir les offres", "Découvrir les nouveautés"],
        "close": [
            "Vous recevez cet e-mail car vous êtes abonné aux actualités {org}.",
            "Gérer vos préférences ou vous désinscrire.",
            "{org}, 12 rue de la République, Lyon",
            "Pour ne plus recevoir nos e-mails, désabonnez-vous.",
        ],
    },
    "de": {
        "subject": [
            "{org} Newsletter: Neues in diesem Monat",
            "Webinar: Änderungen bei der Abrechnung",
            "{pct} % Rabatt auf Untersuchungshandschuhe",
            "Produkt-Update: schnellere Abrechnung",
        ],
        "open": [
            "Hallo {name},",
            "Guten Tag,",
            "Sehr geehrte Praxisinhaberin, sehr geehrter Praxisinhaber,",
            "Hallo zusammen,",
        ],
        "body": [
            "Diesen Monat: neue Regeln für Videosprechstunden, eine Checkliste zur IT-Sicherheitsrichtlinie und drei Tipps gegen Abrechnungsfehler.",
            "Nehmen Sie am {date} an unserem kostenlosen 45-minütigen Webinar zur neuen Gebührenordnung teil. Die Plätze sind begrenzt.",
            "Nur diese Woche {pct} % Rabatt auf Nitrilhandschuhe und Kanülenabwurfbehälter. Versandkostenfrei ab 150 Euro.",
            "Wir haben die Abrechnungsprüfung beschleunigt und zwei neue Auswertungen hinzugefügt.",
        ],
        "cta": ["Weiterlesen", "Jetzt anmelden", "Zum Angebot", "Neuigkeiten ansehen"],
        "close": [
            "Sie erhalten diesen Newsletter, weil Sie ihn abonniert haben.",
            "Einstellungen ändern oder abmelden.",
            "{org}, Hauptstraße 5, Berlin. Impressum",
            "Keine E-Mails mehr? Hier abbestellen.",
        ],
    },
    "es": {
        "subject": [
            "Novedades de {org} este mes",
            "Webinar: cambios en la facturación",
            "{pct} % de descuento en guantes de exploración",
            "Actualización: facturación más rápida",
        ],
        "open": ["Hola {name},", "Hola,", "Estimado gerente:", "Buenos días,"],
        "body": [
            "Este mes: nuevas normas para la teleconsulta, una lista de comprobación de seguridad para su clínica y tres consejos para reducir rechazos.",
            "Únase a nuestro webinar gratuito de 45 minutos el {date} sobre el nuevo baremo. Plazas limitadas.",
            "Solo esta semana, {pct} % de descuento en guantes de nitrilo y contenedores de agujas. Envío gratis a partir de 150 €.",
            "Hemos acelerado la revisión de facturas y añadido dos informes nuevos.",
        ],
        "cta": ["Leer más", "Inscribirse", "Ver ofertas", "Ver novedades"],
        "close": [
            "Recibe este correo porque se suscribió a las novedades de {org}.",
            "Gestionar preferencias o darse de baja.",
            "{org}, Calle Mayor 10, Madrid",
            "¿No quiere recibir más correos? Darse de baja.",
        ],
    },
}

LIST_POST: Phrases = {
    "en": {
        "subject": [
            "Re: HL7 interface dropping OBX segments after upgrade",
            "Question about retention of scanned consent forms",
            "Re: Recommended backup schedule for small practices",
            "Meeting notes from the regional practice managers call",
        ],
        "open": ["Hi all,", "Hello everyone,", "On {date}, {inviter} wrote:", "Hi list,"],
        "body": [
            "We upgraded our interface engine last week and since then some OBX segments with long text are cut. Has anyone seen this? We are on version 4.2 with the default channel settings.",
            "How long are other practices keeping scanned consent forms after they are attached to the chart? Our policy says seven years but our vendor suggests shredding the paper after 90 days.",
            "We run nightly encrypted backups to an offsite provider and test a restore every quarter. The test restore is the part people skip, and the part that matters.",
            "Thanks to everyone who joined the call. Slides are on the group's wiki; next call is on {date}. Please add agenda items to the shared document.",
        ],
        "cta": ["", "", "", ""],
        "close": [
            "Thanks, {inviter}",
            "-- \n{inviter}\nPractice manager",
            "Best, {inviter}",
            "Cheers,\n{inviter}",
        ],
    },
    "nl": {
        "subject": [
            "Re: Koppeling met het lab valt steeds weg",
            "Vraag: hoe lang bewaren jullie toestemmingsformulieren?",
            "Re: Back-up advies voor kleine praktijken",
            "Verslag regio-overleg praktijkmanagers",
        ],
        "open": [
            "Hoi allemaal,",
            "Beste collega's,",
            "Op {date} schreef {inviter}:",
            "Hallo lijst,",
        ],
        "body": [
            "Sinds de update van vorige week valt onze koppeling met het lab af en toe weg. Herkent iemand dit? We gebruiken de standaardinstellingen.",
            "Hoe lang bewaren jullie gescande toestemmingsformulieren nadat ze in het dossier staan? Ons beleid zegt vijftien jaar voor het dossier, maar het papier?",
            "Wij maken elke nacht een versleutelde back-up naar een externe partij en testen elk kwartaal een terugzetting. Dat testen slaat iedereen over, en juist dat telt.",
            "Dank aan iedereen die meedeed. De presentatie staat op de wiki; het volgende overleg is op {date}.",
        ],
        "cta": ["", "", "", ""],
        "close": [
            "Groet, {inviter}",
            "-- \n{inviter}\nPraktijkmanager",
            "Met vriendelijke groet, {inviter}",
            "Groetjes,\n{inviter}",
        ],
    },
    "pt": {
        "subject": [
            "Re: Integração com o laboratório parou após atualização",
            "Dúvida sobre guarda de termos de consentimento",
            "Re: Rotina de backup para clínicas pequenas",
            "Ata da reunião regional de gestores",
        ],
        "open": ["Olá a todos,", "Pessoal,", "Em {date}, {inviter} escreveu:", "Oi lista,"],
        "body": [
            "Atualizamos o integrador na semana passada e desde então alguns resultados chegam cortados. Alguém já viu isso?",
            "Por quanto tempo vocês guardam os termos de consentimento digitalizados depois de anexados ao prontuário?",
            "Fazemos backup criptografado todas as noites para um provedor externo e testamos a restauração a cada trimestre.",
            "Obrigado a todos que participaram. Os slides estão na wiki do grupo; a próxima reunião é em {date}.",
        ],
        "cta": ["", "", "", ""],
        "close": [
            "Abraço, {inviter}",
            "-- \n{inviter}\nGestora de clínica",
            "Att., {inviter}",
            "Valeu,\n{inviter}",
        ],
    },
    "fr": {
        "subject": [
            "Re: Interface HPRIM coupée depuis la mise à jour",
            "Question : durée de conservation des consentements",
            "Re: Sauvegardes pour les petits cabinets",
            "Compte rendu de la réunion des gestionnaires",
        ],
        "open": [
            "Bonjour à tous,",
            "Chers collègues,",
            "Le {date}, {inviter} a écrit :",
            "Bonjour la liste,",
        ],
        "body": [
            "Depuis la mise à jour de la semaine dernière, certains résultats arrivent tronqués dans notre logiciel. Quelqu'un a-t-il rencontré ce problème ?",
            "Combien de temps conservez-vous les consentements scannés une fois intégrés au dossier ?",
            "Nous faisons une sauvegarde chiffrée chaque nuit chez un prestataire externe et testons une restauration chaque trimestre.",
            "Merci à tous pour votre participation. Les diapositives sont sur le wiki ; prochaine réunion le {date}.",
        ],
        "cta": ["", "", "", ""],
        "close": [
            "Bien à vous, {inviter}",
            "-- \n{inviter}\nGestionnaire de cabinet",
            "Cordialement, {inviter}",
            "À bientôt,\n{inviter}",
        ],
    },
    "de": {
        "subject": [
            "Re: Laborschnittstelle bricht nach Update ab",
            "Frage: Aufbewahrung eingescannter Einwilligungen",
            "Re: Datensicherung für kleine Praxen",
            "Protokoll des regionalen Praxismanagement-Treffens",
        ],
        "open": [
            "Hallo zusammen,",
            "Liebe Kolleginnen und Kollegen,",
            "Am {date} schrieb {inviter}:",
            "Hallo Liste,",
        ],
        "body": [
            "Seit dem Update letzte Woche kommen bei uns manche Laborbefunde abgeschnitten an. Kennt das jemand?",
            "Wie lange bewahrt ihr eingescannte Einwilligungen auf, nachdem sie in der Akte sind?",
            "Wir sichern jede Nacht verschlüsselt zu einem externen Anbieter und testen jedes Quartal eine Wiederherstellung.",
            "Danke an alle fürs Mitmachen. Die Folien liegen im Wiki; das nächste Treffen ist am {date}.",
        ],
        "cta": ["", "", "", ""],
        "close": [
            "Viele Grüße, {inviter}",
            "-- \n{inviter}\nPraxismanagerin",
            "Beste Grüße, {inviter}",
            "Gruß\n{inviter}",
        ],
    },
    "es": {
        "subject": [
            "Re: La interfaz con el laboratorio se corta tras la actualización",
            "Pregunta: conservación de consentimientos escaneados",
            "Re: Copias de seguridad para consultas pequeñas",
            "Acta de la reunión de gerentes",
        ],
        "open": ["Hola a todos,", "Compañeros:", "El {date}, {inviter} escribió:", "Hola lista,"],
        "body": [
            "Desde la actualización de la semana pasada algunos resultados llegan cortados a nuestro programa. ¿Le ha pasado a alguien?",
            "¿Cuánto tiempo conserváis los consentimientos escaneados una vez incorporados a la historia?",
            "Hacemos una copia cifrada cada noche a un proveedor externo y probamos una restauración cada trimestre.",
            "Gracias a todos por participar. Las diapositivas están en la wiki; la próxima reunión es el {date}.",
        ],
        "cta": ["", "", "", ""],
        "close": [
            "Un saludo, {inviter}",
            "-- \n{inviter}\nGerente de clínica",
            "Saludos, {inviter}",
            "Hasta pronto,\n{inviter}",
        ],
    },
}

KINDS: dict[str, Phrases] = {
    "receipt": RECEIPT,
    "invoice": INVOICE,
    "dunning": DUNNING,
    "password_reset": PASSWORD_RESET,
    "signin_alert": SIGNIN_ALERT,
    "quota": QUOTA,
    "invite": INVITE,
    "lab": LAB,
    "claims": CLAIMS,
    "order": ORDER,
    "payroll": PAYROLL,
    "newsletter": NEWSLETTER,
    "list_post": LIST_POST,
}
