"""Tests of feedwatch.core.classify: scores, explanations, rules, evaluation and the dev-set floor."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feedwatch.core.classify import (
    EvalReport,
    Topics,
    classify,
    evaluate,
    explain,
    load_topics,
    parse_topics,
)
from feedwatch.types import TopicScore

DEV_SET = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "topics-dev.jsonl"

M, INT, A, V = "migratie", "integratie", "asielzoekerscentrum", "veiligelanders"


@pytest.fixture(scope="module")
def topics() -> Topics:
    return load_topics()


def assigned(scores: list[TopicScore]) -> set[str]:
    return {s.topic for s in scores if s.assigned}


# ---------------------------------------------------------------------------------------------
# Held-out sentences, written for these tests (not taken from the dev set or any source).
# (title, text, expected topics)

HELD_OUT: list[tuple[str, str, set[str]]] = [
    # migratie
    (
        "Kabinet wil tijdelijke verblijfsvergunning voor vluchtelingen inkorten",
        "Het kabinet wil de asielwetten aanscherpen. Een asielvergunning geldt straks drie jaar "
        "in plaats van vijf, en het tweestatusstelsel moet gezinshereniging beperken. "
        "Advocaten vrezen dat de Vreemdelingenwet zo in strijd komt met het Vluchtelingenverdrag.",
        {M},
    ),
    (
        "IND loopt verder achter met asielaanvragen",
        "Ruim vijftigduizend mensen wachten op een beslissing over hun asielaanvraag. De "
        "Immigratie- en Naturalisatiedienst haalt de wettelijke beslistermijn in de meeste zaken "
        "niet en betaalt daarom miljoenen euro's aan dwangsommen.",
        {M},
    ),
    (
        "Nareizende gezinsleden wachten maanden op een visum",
        "Vluchtelingen die hun kinderen willen laten overkomen, moeten steeds langer wachten. "
        "De nareisprocedure duurt gemiddeld elf maanden, schrijft VluchtelingenWerk.",
        {M},
    ),
    (
        "Meer uitgeprocedeerde asielzoekers vertrokken",
        "Vorig jaar vertrokken ruim achtduizend afgewezen asielzoekers uit Nederland, meldt de "
        "Dienst Terugkeer en Vertrek. Een kwart van hen werd gedwongen uitgezet. Voor de anderen "
        "is terugkeer lastig omdat hun land van herkomst niet meewerkt.",
        {M},
    ),
    (
        "Kinderen in vreemdelingendetentie",
        "De Nationale ombudsman is kritisch over het opsluiten van gezinnen met kinderen in "
        "vreemdelingenbewaring op Schiphol in afwachting van hun uitzetting.",
        {M},
    ),
    (
        "Honderden migranten verdronken bij oversteek Middellandse Zee",
        "Een overvolle boot met migranten uit Libië is voor de kust van Griekenland gezonken. "
        "Mensenrechtenorganisaties verwijten Frontex en de Griekse kustwacht illegale pushbacks "
        "en eisen een onafhankelijk onderzoek.",
        {M},
    ),
    (
        "Smokkelnetwerk opgerold",
        "De politie heeft een netwerk van mensensmokkelaars opgerold dat migranten in "
        "vrachtwagens via België naar het Verenigd Koninkrijk bracht, voor duizenden euro's "
        "per persoon.",
        {M},
    ),
    (
        "UNHCR: recordaantal mensen op de vlucht",
        "Wereldwijd zijn meer dan honderd miljoen mensen op de vlucht voor oorlog, geweld en "
        "vervolging, meldt de vluchtelingenorganisatie van de VN. De meeste ontheemden blijven "
        "in hun eigen regio.",
        {M},
    ),
    (
        "Droogte drijft boeren in de Sahel naar de stad",
        "Door de klimaatverandering mislukken oogsten steeds vaker. Onderzoekers verwachten dat "
        "klimaatmigratie de komende decennia fors toeneemt en dat miljoenen mensen huis en haard "
        "verlaten.",
        {M},
    ),
    (
        "Europese lidstaten akkoord over migratiepact",
        "De ministers van Binnenlandse Zaken zijn het eens over de verdeling van asielzoekers "
        "over de lidstaten. Landen die geen asielzoekers willen opnemen, betalen per persoon een "
        "bijdrage. Ook komen er snellere procedures aan de buitengrenzen.",
        {M},
    ),
    (
        "Arbeidsmigratie groeit harder dan asielmigratie",
        "Het CBS meldt dat het migratiesaldo vorig jaar opnieuw hoog was. Vooral arbeidsmigranten "
        "uit Midden- en Oost-Europa en kennismigranten zorgden voor de groei van de bevolking.",
        {M},
    ),
    # integratie
    (
        "Gemeenten worstelen met nieuwe inburgeringswet",
        "Sinds de Wet inburgering 2021 regelen gemeenten zelf de taallessen voor statushouders. "
        "Inburgeraars volgen een leerroute op taalniveau B1, maar veel gemeenten hebben te "
        "weinig docenten.",
        {INT},
    ),
    (
        "Taalmaatjes gezocht",
        "Het taalcafé in de bibliotheek zoekt vrijwilligers die met nieuwkomers Nederlands willen "
        "oefenen. Vluchtelingen met een verblijfsvergunning leren zo sneller de taal en maken "
        "contact met buurtgenoten.",
        {INT},
    ),
    (
        "Statushouders vinden moeilijk werk",
        "Vijf jaar na het krijgen van een verblijfsvergunning heeft minder dan de helft van de "
        "statushouders betaald werk. Werkgevers twijfelen aan diploma's uit het buitenland en "
        "veel vluchtelingen blijven afhankelijk van een bijstandsuitkering.",
        {INT},
    ),
    (
        "Woningcorporaties moeten meer statushouders huisvesten",
        "De taakstelling voor de huisvesting van vergunninghouders gaat volgend halfjaar omhoog. "
        "Gemeenten zoeken naar tijdelijke woningen, omdat de wachtlijsten voor sociale huur al "
        "lang zijn.",
        {INT},
    ),
    (
        "Nieuwkomersklas zit vol",
        "Op de internationale schakelklas in Zwolle zitten kinderen uit Syrië, Oekraïne en "
        "Eritrea. Ze leren eerst Nederlands voordat ze doorstromen naar het gewone voortgezet "
        "onderwijs.",
        {INT},
    ),
    (
        "Onderzoek: vluchtelingen vaker gediscrimineerd op de arbeidsmarkt",
        "Sollicitanten met een vluchtelingenachtergrond worden minder vaak uitgenodigd. Volgens "
        "de onderzoekers spelen vooroordelen over asielzoekers en statushouders een grote rol.",
        {INT},
    ),
    (
        "Oekraïense vluchtelingen aan het werk",
        "Bijna zestig procent van de Oekraïners in Nederland heeft een baan, vaak via een "
        "uitzendbureau. Veel ontheemden volgen daarnaast taallessen Nederlands.",
        {INT},
    ),
    (
        "Naturalisatie-eisen worden strenger",
        "Wie Nederlander wil worden, moet straks aantonen dat hij het inburgeringsexamen op een "
        "hoger niveau heeft gehaald. De naturalisatie duurt bovendien langer.",
        {INT},
    ),
    # asielzoekerscentrum
    (
        "Gemeenteraad stemt in met nieuw azc",
        "Na een lange vergadering heeft de gemeenteraad ingestemd met de komst van een "
        "asielzoekerscentrum voor vierhonderd bewoners. Het COA opent de locatie volgend jaar.",
        {A},
    ),
    (
        "Weer honderden mensen slapen buiten in Ter Apel",
        "Bij het aanmeldcentrum in Ter Apel sliepen afgelopen nacht opnieuw honderden "
        "asielzoekers in het gras. Het COA zegt geen opvangplekken meer te hebben.",
        {A},
    ),
    (
        "Crisisnoodopvang in sporthal verlengd",
        "De crisisnoodopvang in de sporthal blijft drie maanden langer open. Bewoners klagen "
        "over gebrek aan privacy en medische zorg.",
        {A},
    ),
    (
        "Spreidingswet: provincie moet meer opvangplekken regelen",
        "Volgens de verdeling onder de Spreidingswet moet de provincie tweeduizend extra "
        "opvangplekken voor asielzoekers realiseren.",
        {A},
    ),
    (
        "Omwonenden boos over opvanglocatie",
        "Op een informatieavond over de geplande opvanglocatie voor asielzoekers uitten "
        "omwonenden hun zorgen over veiligheid en verkeer.",
        {A},
    ),
    (
        "Inspectie: te weinig toezicht op alleenstaande minderjarigen",
        "In de opvang van alleenstaande minderjarige vreemdelingen ontbreekt het aan voogden en "
        "begeleiding, stelt de inspectie. Nidos kan de groei niet bijhouden.",
        {A},
    ),
    (
        "Cruiseschip vangt asielzoekers op",
        "Een cruiseschip in de haven biedt de komende maanden onderdak aan duizend asielzoekers. "
        "Het is een van de noodopvanglocaties van het COA.",
        {A},
    ),
    # veiligelanders
    (
        "Kabinet zet Marokko op lijst van veilige landen",
        "Asielzoekers uit een veilig land van herkomst krijgen vrijwel nooit een "
        "verblijfsvergunning. Hun aanvragen worden voortaan in een versnelde procedure "
        "afgehandeld.",
        {V, M},
    ),
    (
        "Veiligelanders in aparte opvang",
        "Veiligelanders krijgen voortaan sobere opvang in een aparte locatie, zodat hun kansarme "
        "aanvragen snel in spoor 2 worden afgehandeld.",
        {V, M},
    ),
    (
        "Overlast in azc door asielzoekers uit Noord-Afrika",
        "Een kleine groep Algerijnse en Marokkaanse asielzoekers uit veilige landen veroorzaakt "
        "al maanden overlast in en rond het azc. Bewoners en buurt zijn de diefstallen beu.",
        {V, A},
    ),
    (
        "Aandeel kansarme asielaanvragen gedaald",
        "Het aandeel asielaanvragen van mensen uit veilige landen van herkomst, zoals Georgië en "
        "Moldavië, daalde vorig jaar tot vier procent van de instroom.",
        {V, M},
    ),
    # several topics
    (
        "Statushouders wachten maanden in azc op woning",
        "Ruim twintigduizend statushouders wonen nog in een asielzoekerscentrum, omdat gemeenten "
        "geen woningen voor hen vinden. Daardoor zit de opvang vol en kunnen nieuwe asielzoekers "
        "niet doorstromen.",
        {A, INT},
    ),
    (
        "Hoge asielinstroom zet opvang onder druk",
        "De asielinstroom is dit jaar hoger dan verwacht: de IND registreerde ruim "
        "veertigduizend asielaanvragen. Het COA heeft daardoor te weinig opvangplekken en "
        "opent nieuwe noodopvang.",
        {M, A},
    ),
    (
        "Demonstranten intimideren bewoners van azc",
        "Tegenstanders van het azc riepen 'vol is vol' en bedreigden asielzoekers bij de ingang. "
        "De burgemeester spreekt van een verharding van de houding tegenover vluchtelingen.",
        {A, INT},
    ),
    (
        "Gezinslocatie voor uitgeprocedeerde gezinnen",
        "Het COA opent een nieuwe gezinslocatie voor uitgeprocedeerde gezinnen met kinderen, "
        "die daar wachten op hun vertrek uit Nederland.",
        {M, A},
    ),
    # negatives, including hard ones
    (
        "Tekort aan plekken in de kinderopvang",
        "Ouders staan maanden op de wachtlijst voor kinderopvang. Kinderdagverblijven en "
        "buitenschoolse opvang kunnen geen personeel vinden.",
        set(),
    ),
    (
        "Vrouwenopvang luidt noodklok",
        "De vrouwenopvang kampt met een tekort aan bedden voor slachtoffers van huiselijk geweld. "
        "Vrouwen blijven daardoor langer in een onveilige thuissituatie.",
        set(),
    ),
    (
        "Daklozenopvang vol door kou",
        "Nu het vriest, zit de nachtopvang voor daklozen overvol. De gemeente opent extra "
        "slaapplekken in de maatschappelijke opvang.",
        set(),
    ),
    (
        "Datamigratie bij gemeente loopt vertraging op",
        "De migratie naar het nieuwe zaaksysteem kost meer tijd dan gepland. Bij de datamigratie "
        "gingen gegevens van duizenden dossiers verloren, waardoor de servers opnieuw moesten "
        "worden ingericht.",
        set(),
    ),
    (
        "Vogeltrek op zijn hoogtepunt",
        "Deze week trekken miljoenen vogels over ons land naar hun overwinteringsgebieden in het "
        "zuiden. Vogeltellers zien vooral veel vinken en spreeuwen.",
        set(),
    ),
    (
        "Europese integratie op de proef gesteld",
        "De Europese integratie staat onder druk door ruzie over de begroting. Economische "
        "integratie van de interne markt blijft volgens de Commissie de prioriteit.",
        set(),
    ),
    (
        "Minder verkeersdoden dankzij veiligere kruispunten",
        "De verkeersveiligheid in de provincie is verbeterd. Op veilige fietsroutes en "
        "vernieuwde rotondes vielen minder slachtoffers.",
        set(),
    ),
    (
        "De veiligste landen voor een vakantie",
        "Zoek je een veilige vakantiebestemming? IJsland en Portugal staan bovenaan de lijst van "
        "veilige landen voor toeristen, volgens een nieuwe index.",
        set(),
    ),
    (
        "Dierenasiel vangt verwaarloosde honden op",
        "Het dierenasiel heeft twintig verwaarloosde honden opgevangen uit een woning. De "
        "dierenopvang zoekt nu nieuwe baasjes.",
        set(),
    ),
    (
        "Nieuwe koppeling voor systeemintegratie",
        "Met de nieuwe API is de integratie van systemen voor de boekhouding eenvoudig. De "
        "software verbindt de webwinkel met het magazijn.",
        set(),
    ),
    (
        "Nieuwkomer wint etappe in de Vuelta",
        "De jonge nieuwkomer verraste iedereen met een aanval op de laatste klim en won de rit "
        "met tien seconden voorsprong.",
        set(),
    ),
    (
        "Loverboy veroordeeld",
        "Een 24-jarige man uit Utrecht is veroordeeld voor mensenhandel. Hij dwong twee "
        "minderjarige meisjes tot prostitutie.",
        set(),
    ),
    (
        "Extra geld voor kansarme wijken",
        "Het kabinet trekt honderd miljoen euro uit voor kansarme wijken. Kinderen in deze buurten "
        "krijgen extra lesuren en huiswerkbegeleiding.",
        set(),
    ),
    (
        "Rente op spaarrekeningen stijgt",
        "Banken verhogen de rente op spaarrekeningen voor het eerst in jaren. Economen verwachten "
        "dat de inflatie daalt.",
        set(),
    ),
    # a second batch, written after the first rules were tuned
    (
        "Raad van State: beperking gezinshereniging mag niet",
        "De hoogste bestuursrechter oordeelt dat de staatssecretaris de nareis van "
        "gezinsleden van erkende vluchtelingen niet zomaar mag opschorten. Het besluit is in "
        "strijd met Europese regels.",
        {M},
    ),
    (
        "Aantal asielaanvragen in september gedaald",
        "In september vroegen ruim 3.000 mensen asiel aan in Nederland, blijkt uit de "
        "maandcijfers. De meeste asielzoekers kwamen uit Syrië, Eritrea en Afghanistan.",
        {M},
    ),
    (
        "Belgische regering wil strengere terugkeer",
        "België wil afgewezen asielzoekers sneller terugsturen en breidt de gesloten centra "
        "uit. Ook komt er een nieuw terugkeerbeleid voor mensen zonder verblijfsvergunning.",
        {M},
    ),
    (
        "Vluchtelingen uit Soedan stranden in Tsjaad",
        "Door de oorlog in Soedan zijn honderdduizenden mensen naar buurland Tsjaad gevlucht."
        " De UNHCR waarschuwt dat de vluchtelingenkampen overvol zijn.",
        {M},
    ),
    (
        "Inburgeraars halen examen vaker",
        "Het slagingspercentage voor het inburgeringsexamen is gestegen. Vooral de onderdelen"
        " spreken en schrijven gaan beter sinds de nieuwe lesmethode.",
        {INT},
    ),
    (
        "Vrijwilligers begeleiden statushouders in dorpen",
        "In kleine gemeenten helpen buddy's nieuwe statushouders met formulieren, de weg naar"
        " de huisarts en het vinden van een sportclub.",
        {INT},
    ),
    (
        "Meer discriminatie van asielzoekers online",
        "Het meldpunt ziet een sterke toename van haatberichten over asielzoekers en "
        "vluchtelingen op sociale media, vaak met oproepen tot geweld.",
        {INT},
    ),
    (
        "Azc Budel krijgt nieuwe bewonersraad",
        "In het asielzoekerscentrum in Budel hebben bewoners een bewonersraad gekozen die "
        "meepraat over de regels en de activiteiten op de locatie van het COA.",
        {A},
    ),
    (
        "Brand in noodopvang Doetinchem",
        "In de noodopvang in een voormalig kantoorpand brak vannacht brand uit. Alle "
        "tweehonderd asielzoekers zijn veilig geëvacueerd en elders opgevangen.",
        {A},
    ),
    (
        "Gemeente weigert mee te werken aan opvang",
        "De gemeenteraad stemde tegen de komst van een opvanglocatie voor tweehonderdvijftig "
        "asielzoekers, ondanks de verplichting uit de Spreidingswet.",
        {A},
    ),
    (
        "Kinderen in azc missen maanden onderwijs",
        "Door de vele verhuizingen tussen opvanglocaties gaan asielkinderen maandenlang niet "
        "naar school, meldt de Kinderombudsman.",
        {A},
    ),
    (
        "Minister wil Tunesië en Egypte als veilig land aanmerken",
        "De minister onderzoekt of Tunesië en Egypte op de lijst van veilige landen van "
        "herkomst kunnen. Asielzoekers uit die landen krijgen dan een snellere procedure.",
        {M, V},
    ),
    (
        "Toezichtlocatie voor overlastgevers uit veilige landen",
        "Asielzoekers uit veilige landen die overlast veroorzaken in en rond het azc, worden "
        "overgeplaatst naar een extra begeleidings- en toezichtlocatie.",
        {A, V},
    ),
    (
        "Ook Oekraïense vluchtelingen in gemeentelijke opvang",
        "De gemeente vangt tweehonderd ontheemden uit Oekraïne op in een leegstaand kantoor. "
        "Het is de vierde opvanglocatie voor Oekraïners in de stad.",
        {A},
    ),
    (
        "Oekraïense kinderen naar school",
        "Op de basisschool zitten nu dertig Oekraïense leerlingen in een aparte "
        "nieuwkomersklas, waar ze Nederlands leren.",
        {INT},
    ),
    (
        "Server-migratie bij bank zorgt voor storing",
        "Door de migratie naar nieuwe servers konden klanten urenlang niet inloggen. De bank "
        "verwacht dat de cloudmigratie eind van het jaar klaar is.",
        set(),
    ),
    (
        "Ooievaars vertrekken naar Afrika",
        "De trekvogels beginnen aan hun lange reis naar het zuiden. Vogelaars tellen "
        "duizenden ooievaars boven de Veluwe.",
        set(),
    ),
    (
        "Zorgverzekeraars willen betere integratie van zorg",
        "De integratie van wijkverpleging en huisartsenzorg moet de wachtlijsten verkorten, "
        "zeggen zorgverzekeraars.",
        set(),
    ),
    (
        "Veilig Thuis krijgt meer meldingen",
        "Veilig Thuis ontving dit jaar meer meldingen van huiselijk geweld en "
        "kindermishandeling dan ooit.",
        set(),
    ),
    (
        "Nieuwe opvang voor zwerfkatten",
        "De dierenbescherming opent een opvang voor zwerfkatten. Vrijwilligers vangen de "
        "dieren op en zoeken een nieuw thuis.",
        set(),
    ),
    # a third batch, written with the rules frozen: 11 of 16 right at first; the misses
    # (bare 'migratie'/'integratie' in a title, English 'asylum') led to context rules
    (
        "Dutch government announces stricter asylum rules",
        "The cabinet wants to limit family reunification for refugees and shorten temporary "
        "asylum permits. Aid organisations say the plans conflict with European law.",
        {M},
    ),
    (
        "Asylum seekers sleep outside Ter Apel again",
        "Dozens of asylum seekers spent the night outside the registration centre in Ter "
        "Apel. The COA says all reception locations are full.",
        {A},
    ),
    (
        "Refugees struggle to find jobs despite labour shortage",
        "Many status holders remain unemployed years after receiving a residence permit, a "
        "study finds. Language barriers and unrecognised diplomas are the main obstacles.",
        {INT},
    ),
    (
        "Wachttijd voor eerste gehoor bij IND opgelopen",
        "Asielzoekers wachten gemiddeld acht maanden op hun eerste gehoor bij de IND. "
        "Advocaten spreken van een onhoudbare situatie.",
        {M},
    ),
    (
        "Sporthal weer beschikbaar na vertrek asielzoekers",
        "De sporthal die een half jaar dienst deed als crisisnoodopvang, is weer open voor "
        "sportverenigingen. De laatste bewoners zijn verhuisd naar een azc.",
        {A},
    ),
    (
        "Marokkaanse jongeren veroorzaken overlast rond aanmeldcentrum",
        "Een groep jonge asielzoekers uit Marokko en Algerije, die vrijwel geen kans op asiel"
        " hebben, zorgt voor diefstallen en overlast rond het aanmeldcentrum.",
        {A, V},
    ),
    (
        "Kansloze asielaanvragen sneller afgehandeld",
        "Aanvragen van asielzoekers uit veilige landen worden voortaan binnen acht dagen "
        "beoordeeld. Het kabinet wil zo de opvang ontlasten.",
        {M, V},
    ),
    (
        "Taalcafé brengt buurtbewoners en nieuwkomers samen",
        "Elke woensdag oefenen statushouders in het buurthuis hun Nederlands met "
        "vrijwilligers uit de wijk.",
        {INT},
    ),
    (
        "Rechter: opsluiting migranten in grensdetentie onrechtmatig",
        "De rechtbank oordeelt dat de vreemdelingendetentie van twaalf migranten op Schiphol "
        "te lang duurde. Zij krijgen een schadevergoeding.",
        {M},
    ),
    (
        "Kinderdagverblijf sluit na inspectie",
        "Een kinderopvang in Almere moet dicht omdat er te weinig begeleiders waren. Ouders "
        "moeten snel een andere opvang zoeken.",
        set(),
    ),
    (
        "Nieuwe app maakt fietsen veiliger",
        "Met een nieuwe app kunnen fietsers gevaarlijke kruispunten melden. Zo wil de "
        "gemeente de verkeersveiligheid verbeteren.",
        set(),
    ),
    (
        "Migratie van zalm bedreigd door dammen",
        "Zalmen kunnen de rivieren niet meer op om te paaien. Natuurorganisaties willen "
        "vistrappen bij de stuwen.",
        set(),
    ),
    (
        "Ajax haalt nieuwkomer uit Brazilië",
        "De Amsterdamse club heeft een jonge aanvaller uit Brazilië vastgelegd. De nieuwkomer"
        " moet nog wennen aan het Nederlandse klimaat.",
        set(),
    ),
    (
        "Europese Unie en de integratie van de energiemarkt",
        "De lidstaten willen hun stroomnetten beter koppelen. Verdere integratie van de "
        "Europese energiemarkt moet prijzen drukken.",
        set(),
    ),
    (
        "Opvang voor dakloze jongeren uitgebreid",
        "De gemeente opent extra plekken in de nachtopvang voor dakloze jongeren, omdat de "
        "winter eraan komt.",
        set(),
    ),
    (
        "Gemeente wil betere integratie van ICT-systemen",
        "De verschillende ICT-systemen van de gemeente moeten beter samenwerken. Een nieuw "
        "integratieplatform moet gegevens uitwisselen.",
        set(),
    ),
]


@pytest.mark.parametrize(
    ("title", "text", "expected"), HELD_OUT, ids=[t[:40] for t, _, _ in HELD_OUT]
)
def test_held_out_sentences(topics: Topics, title: str, text: str, expected: set[str]) -> None:
    scores = classify(title, text, topics)
    got = assigned(scores)
    detail = {s.topic: (s.score, s.terms) for s in scores if s.score}
    assert got == expected, detail


def test_held_out_set_is_large_and_covers_every_topic() -> None:
    assert len(HELD_OUT) >= 40
    covered = set().union(*(e for _, _, e in HELD_OUT))
    assert covered == {M, INT, A, V}
    assert sum(1 for *_, e in HELD_OUT if len(e) > 1) >= 5
    assert sum(1 for *_, e in HELD_OUT if not e) >= 10


# ---------------------------------------------------------------------------------------------
# The shape of the answer


def test_one_score_per_topic_in_rule_order(topics: Topics) -> None:
    scores = classify("Weerbericht", "Morgen regent het in het hele land.", topics)
    assert [s.topic for s in scores] == list(topics.keys)
    assert all(s.score == 0 and s.terms == () and not s.assigned for s in scores)
    assert all(s.threshold == topics.get(s.topic).threshold for s in scores)


def test_unassigned_topics_keep_their_score_for_near_misses(topics: Topics) -> None:
    scores = {s.topic: s for s in classify("", "Er kwamen ook asielzoekers langs.", topics)}
    near = scores[A]
    assert 0 < near.score < near.threshold
    assert not near.assigned
    assert near.terms


def test_terms_explain_the_score(topics: Topics) -> None:
    scores = {
        s.topic: s
        for s in classify(
            "Nieuw asielzoekerscentrum in Emmen",
            "Het asielzoekerscentrum opent in mei. Het COA verwacht tweehonderd bewoners.",
            topics,
        )
    }
    azc = scores[A]
    assert azc.assigned
    first = azc.terms[0]
    assert first.startswith("asielzoekerscentrum (title, body) +9.0 [azc*|")
    assert any(t.startswith("coa (body) +3.0") for t in azc.terms)


def test_title_weighs_more_than_body(topics: Topics) -> None:
    in_title = {s.topic: s.score for s in classify("Nieuwe noodopvang", "Vandaag.", topics)}
    in_body = {s.topic: s.score for s in classify("Vandaag", "Nieuwe noodopvang.", topics)}
    assert in_title[A] > in_body[A] > 0


def test_compounds_hyphens_and_apostrophes_are_found(topics: Topics) -> None:
    for text in (
        "De AZC’s in het noorden zitten vol.",
        "De azc-locatie in het noorden zit vol.",
        "De crisisnoodopvang in het noorden zit vol.",
        "Twee asielzoekerscentra in het noorden zitten vol.",
    ):
        scores = {s.topic: s for s in classify("", text, topics)}
        assert scores[A].score >= 3, text


def test_other_senses_are_masked(topics: Topics) -> None:
    for text, topic in (
        ("De kinderopvang en de vrouwenopvang zijn vol.", A),
        ("De datamigratie en de softwaremigratie zijn klaar.", M),
        ("Europese integratie en economische integratie.", INT),
    ):
        scores = {s.topic: s for s in classify("", text, topics)}
        assert scores[topic].score <= 0, (text, scores[topic].terms)


def test_source_prior_needs_evidence(topics: Topics) -> None:
    with_prior = {
        s.topic: s.score
        for s in classify("", "Het COA opent een locatie.", topics, source="coa-nieuws")
    }
    without = {s.topic: s.score for s in classify("", "Het COA opent een locatie.", topics)}
    assert with_prior[A] == without[A] + 1.0
    nothing = classify("Weer", "Zon en regen.", topics, source="coa-nieuws")
    assert all(s.score == 0 for s in nothing)


# ---------------------------------------------------------------------------------------------
# The rule language, on small rule files

RULES = """
scoring: {{title_weight: 2.0, repeat: 0.5, max_count: 3}}
topics:
  - key: test
    title: Test
    threshold: 3
    terms:
      appel*: 1
      "*peer": 1
      rode kool: 2
      pruim|kers: 1
    combinations:
      - name: fruit and veg
        all: [[appel*], [rode kool]]
        weight: 4
    near:
      - a: [boer]
        b: [oogst]
        within: {within}
        weight: 5
    exclude:
      - name: company
        terms: [appeltaart, apple computer]
        mask: true
        weight: 1
"""


def rules(within: int = 2) -> Topics:
    return parse_topics(textwrap.dedent(RULES.format(within=within)), "rules.yaml")


def score(title: str, text: str, topics: Topics) -> TopicScore:
    return classify(title, text, topics)[0]


def test_prefix_suffix_phrase_and_alternatives() -> None:
    t = rules()
    assert score("", "appels", t).score == 1
    assert score("", "handpeer", t).score == 1
    assert score("", "peren", t).score == 0
    assert score("", "rode kool", t).score == 2
    assert score("", "rode en witte kool", t).score == 0
    assert score("", "pruim en kers", t).score == 1.5  # one term, two matches: 1 + 0.5


def test_repeats_saturate() -> None:
    t = rules()
    assert score("", "appel appel", t).score == 1.5
    assert score("", "appel " * 3, t).score == 2.0
    assert score("", "appel " * 9, t).score == 2.0  # max_count 3
    assert score("appel", "", t).score == 2.0  # title_weight


def test_combination_needs_every_group() -> None:
    t = rules()
    both = score("", "appel en rode kool", t)
    assert both.score == 1 + 2 + 4
    assert any(term.startswith("all(fruit and veg): appel + rode kool +4.0") for term in both.terms)
    assert score("", "alleen rode kool", t).score == 2


def test_near_within_n_words() -> None:
    assert score("", "de boer en de oogst", rules(within=3)).score == 5
    assert score("", "de boer en de oogst", rules(within=2)).score == 0
    assert score("", "de boer", rules(within=3)).score == 0
    assert score("", "de oogst en de boer", rules(within=3)).score == 5  # either order
    assert score("", "oogst " + "x " * 10 + "boer", rules(within=3)).score == 0


def test_exclusion_masks_and_subtracts() -> None:
    t = rules()
    s = score("", "appeltaart en een apple computer", t)
    assert s.score == -1  # appel* is masked; the group subtracts once
    assert any(term.startswith("not(company): appeltaart, apple computer") for term in s.terms)
    s = score("", "appeltaart en appels", t)
    assert s.score == 0  # appels +1, the group -1: exactly zero carries no terms
    assert s.terms == ()


def test_assigned_follows_threshold() -> None:
    t = rules()
    assert not score("", "rode kool", t).assigned
    assert score("", "rode kool en appels", t).assigned


# ---------------------------------------------------------------------------------------------
# Evaluation


def test_evaluate_counts_and_json_shape(topics: Topics) -> None:
    records = [
        {"title": "Nieuw azc", "text": "Het COA opent een azc.", "labels": [A]},  # tp A
        {"title": "Weer", "text": "Regen.", "labels": [M]},  # fn M
        {"title": "Weer", "text": "Zon.", "labels": []},
        {"title": "Nieuw azc in Assen", "text": "Het azc.", "labels": [], "id": "x"},  # fp A
    ]
    report = evaluate(records, topics)
    assert isinstance(report, EvalReport)
    data = report.to_json()
    assert set(data) == {"n", "macro_f1", "topics"}
    assert data["n"] == 4
    assert set(data["topics"]) == set(topics.keys)
    for value in data["topics"].values():
        assert set(value) == {"precision", "recall", "f1", "support"}
    assert data["topics"][A] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert data["topics"][M] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    # macro over the topics that occur (A and M); I and V have neither labels nor predictions
    assert data["macro_f1"] == pytest.approx((2 / 3 + 0) / 2, abs=1e-4)
    json.dumps(data)
    kinds = {(m.topic, m.kind, m.id) for m in report.misses}
    assert kinds == {(M, "false negative", None), (A, "false positive", "x")}
    table = report.format_table()
    assert all(k in table for k in topics.keys) and "macro-F1" in table
    assert "false positives: 1" in report.format_misses()


def test_dev_set_macro_f1_floor(topics: Topics) -> None:
    """The labelled dev set (read at test time, never copied) must keep its quality."""
    if not DEV_SET.exists():
        # Third-party excerpts live in ../shared/data beside the repository, never in it.
        # CI always has that folder; elsewhere its absence is a skip, said out loud.
        assert not os.environ.get("CI"), f"the labelled dev set is missing: {DEV_SET}"
        pytest.skip(f"../shared/data/topics-dev.jsonl is not beside the repository ({DEV_SET})")
    lines = DEV_SET.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    report = evaluate(records, topics)
    assert report.n == len(records) >= 50
    assert report.macro_f1 >= 0.85, report.format_table()
    for key, result in report.topics.items():
        assert result.f1 >= 0.75, (key, report.format_table())


# ---------------------------------------------------------------------------------------------
# Properties


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=st.text(max_size=200),
    text=st.text(max_size=2000)
    | st.lists(
        st.sampled_from(
            [
                "azc",
                "asielzoekers",
                "kinderopvang",
                "-",
                "’s",
                "veilige",
                "landen",
                "van",
                "herkomst",
                "inburgering",
                "migratie",
                "datamigratie",
                " ",
                "\n",
                "É",
                "ë",
            ]
        ),
        max_size=80,
    ).map(" ".join),
    source=st.none() | st.sampled_from(["coa-nieuws", "ind-nieuws", "onbekend"]),
)
def test_classify_never_raises_and_scores_are_sane(
    topics: Topics, title: str, text: str, source: str | None
) -> None:
    scores = classify(title, text, topics, source=source)
    assert [s.topic for s in scores] == list(topics.keys)
    for s in scores:
        assert math.isfinite(s.score)
        assert bool(s.terms) == (s.score != 0)
        assert s.assigned == (s.score >= s.threshold)


def test_classify_module_is_pure() -> None:
    code = (
        "import sys, feedwatch.core.classify, feedwatch.core.textnorm\n"
        "bad = {'httpx', 'sqlalchemy', 'apscheduler'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_explain_lists_topics_best_first(topics: Topics) -> None:
    scores = classify("Nieuw azc", "Het COA opent een azc. Er komen ook asielzoekers.", topics)
    text = explain(scores)
    lines = text.splitlines()
    assert lines[0].startswith("asielzoekerscentrum  ") and lines[0].endswith("assigned")
    assert lines[1].startswith("    azc (title, body) +")
    assert any(line.startswith("migratie  ") and "near miss" in line for line in lines)


PHRASES = """
scoring: {{lemmas: {lemmas}}}
topics:
  - key: vlucht
    title: Vlucht
    threshold: 1
    terms:
      op de vlucht: 2
      veilig land: 1
"""


def test_phrases_are_found_by_their_longest_word_anywhere_in_the_text() -> None:
    t = parse_topics(PHRASES.format(lemmas="false"))
    assert score("", "op de vlucht", t).score == 2  # at the very start
    assert score("", "zij zijn op de vlucht", t).score == 2  # at the very end
    assert score("", "vlucht", t).score == 0  # the anchor alone, no room before it
    assert score("", "de vlucht op", t).score == 0  # wrong order
    assert score("", "op de nachtelijke vlucht", t).score == 0  # not adjacent
    s = score("", "Op de Vlucht, en op de vlucht", t)
    assert s.score == 3 and s.terms[0].startswith("op de vlucht (body ×2) +3.0")


def test_lemmas_widen_exact_words_when_enabled() -> None:
    plain = parse_topics(PHRASES.format(lemmas="false"))
    lemmas = parse_topics(PHRASES.format(lemmas="true"))
    assert score("", "veilige landen", plain).score == 0
    assert score("", "veilige landen", lemmas).score == 1  # veilig land, by lemma
    assert plain.version != lemmas.version


def test_hyphenated_compound_is_masked_whole(topics: Topics) -> None:
    scores = {s.topic: s for s in classify("Server-migratie bij de bank", "", topics)}
    assert scores[M].score < 0, scores[M].terms  # "migratie" is part of the masked run


# A plain reference for phrase terms: count each phrase as a run of equal words, score it by the
# documented formula, and compare with the classifier's quick-reject and anchor-based search.
REFERENCE_RULES = """
topics:
  - key: vlucht
    title: Vlucht
    threshold: 3
    terms:
      op de vlucht: 2
      veilig land: 1
      land: 0.5
"""


def _reference_body_score(words: list[str], terms: dict[tuple[str, ...], float]) -> float:
    total = 0.0
    for phrase, weight in terms.items():
        n = sum(
            tuple(words[i : i + len(phrase)]) == phrase for i in range(len(words) - len(phrase) + 1)
        )
        if n:
            total += weight * (1 + 0.5 * (min(n, 4) - 1))
    return round(total, 6)


@settings(max_examples=300, deadline=None)
@example(["op", "de", "vlucht"], [" "] * 30)  # a phrase that ends the text
@example(["land", "veilig", "land", "op", "de", "op", "de", "vlucht"], ["-"] * 30)
@given(
    st.lists(
        st.sampled_from(["op", "de", "vlucht", "Vlucht", "veilig", "land", "LAND", "landen", "x"]),
        max_size=30,
    ),
    st.lists(st.sampled_from([" ", " ", " ", ", ", "-", " - ", "\n"]), min_size=30, max_size=30),
)
def test_phrase_scores_match_a_plain_reference(words: list[str], gaps: list[str]) -> None:
    t = parse_topics(REFERENCE_RULES)
    text = "".join(w + g for w, g in zip(words, gaps, strict=False))
    expected = _reference_body_score(
        [w.lower() for w in words],
        {("op", "de", "vlucht"): 2, ("veilig", "land"): 1, ("land",): 0.5},
    )
    got = score("", text, t)
    assert got.score == expected, (text, got.terms)
    assert got.assigned == (expected >= 3)
