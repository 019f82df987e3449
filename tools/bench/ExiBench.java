// Bare EXIficient (the copy bundled in python-iso15118's EXICodec.jar) driven
// directly over SAX: no py4j, no JSON binding, no JAXB.  Used as a speed
// reference for our codec and as an independent encoder for EXI options the
// usual oracle cannot produce (string tables, fragments).
//
// Usage (classpath: build/exibench + EXICodec.jar; tools/exificient.py does this):
//   encode XSD XMLFILE|- [opts]           -> EXI hex on stdout
//   decode XSD HEX|- [opts]               -> XML on stdout
//   encode-many XSD [opts]                 stdin: JSON list of XML strings
//   decode-many XSD [opts]                 stdin: JSON list of hex strings
//        -> stdout: JSON list of {"hex": ...} / {"xml": ...} / {"error": ...}
//   bench XSD JSONL SCHEMA ITER [--warmup N] [opts]
//        -> one JSON line per vector of JSONL whose "schema" equals SCHEMA:
//           name, encode_us (XML string -> SAX -> EXI bytes), decode_us (EXI
//           bytes -> SAX events, discarded), xml_parse_us (XML string -> SAX
//           events, discarded; part of encode_us), encode_events_us (EXI
//           encoding of pre-recorded SAX events: the encoder without the XML
//           parser), each the best of 5 round means over ITER runs in total;
//           *_mean_us (means over all ITER); exact (encoding == exi_hex, both
//           ways); bytes [, got_hex]
// opts: --fragment  --capacity N  --maxlen N   (N = -1: unbounded)
// Defaults are the V2G profile: schema-informed, bit-packed, default
// (non-strict) fidelity, valuePartitionCapacity=0, valueMaxLength=0,
// maximumNumberOfBuiltInElementGrammars=0, maximumNumberOfBuiltInProductions=0,
// no fragment.

import com.siemens.ct.exi.core.CodingMode;
import com.siemens.ct.exi.core.EXIFactory;
import com.siemens.ct.exi.core.FidelityOptions;
import com.siemens.ct.exi.core.grammars.Grammars;
import com.siemens.ct.exi.core.helpers.DefaultEXIFactory;
import com.siemens.ct.exi.grammars.GrammarFactory;
import com.siemens.ct.exi.main.api.sax.SAXEncoder;
import com.siemens.ct.exi.main.api.sax.SAXFactory;

import org.apache.xerces.xni.XMLResourceIdentifier;
import org.apache.xerces.xni.parser.XMLEntityResolver;
import org.apache.xerces.xni.parser.XMLInputSource;
import org.xml.sax.InputSource;
import org.xml.sax.XMLReader;
import org.xml.sax.helpers.DefaultHandler;

import javax.xml.parsers.SAXParserFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.sax.SAXSource;
import javax.xml.transform.stream.StreamResult;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class ExiBench {

    // ------------------------------------------------------------------ options

    static final class Options {
        boolean fragment = false;
        int capacity = 0;   // valuePartitionCapacity; -1 = unbounded
        int maxlen = 0;     // valueMaxLength; -1 = unbounded
        int warmup = 20000; // bench only: warm-up rounds in total (2000 is too few for C2)
        final List<String> positional = new ArrayList<>();

        static Options parse(String[] args, int from) {
            Options o = new Options();
            for (int i = from; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--fragment": o.fragment = true; break;
                    case "--capacity": o.capacity = Integer.parseInt(args[++i]); break;
                    case "--maxlen": o.maxlen = Integer.parseInt(args[++i]); break;
                    case "--warmup": o.warmup = Integer.parseInt(args[++i]); break;
                    default:
                        if (a.startsWith("--")) throw new IllegalArgumentException("unknown option " + a);
                        o.positional.add(a);
                }
            }
            return o;
        }
    }

    // ----------------------------------------------------------------- grammars

    /** Resolves schema imports; a schemaLocation that does not exist next to
     *  the importing XSD is looked for in the parent directories (the -20 and
     *  DIN XSDs import xmldsig-core-schema.xsd from their own directory, but
     *  the package ships it one level up).  External DTDs are replaced by an
     *  empty document so that nothing is fetched from the network. */
    static final class LocalResolver implements XMLEntityResolver {
        @Override
        public XMLInputSource resolveEntity(XMLResourceIdentifier id) throws IOException {
            String sys = id.getExpandedSystemId();
            if (sys == null) sys = id.getLiteralSystemId();
            if (sys == null) return null;
            if (sys.endsWith(".dtd")) {
                XMLInputSource empty = new XMLInputSource(id.getPublicId(), sys, id.getBaseSystemId());
                empty.setByteStream(new ByteArrayInputStream(new byte[0]));
                return empty;
            }
            File f = toFile(sys);
            if (f == null || f.exists()) return null;   // default resolution
            String name = f.getName();
            for (File dir = f.getParentFile() == null ? null : f.getParentFile().getParentFile();
                 dir != null; dir = dir.getParentFile()) {
                File cand = new File(dir, name);
                if (cand.isFile()) {
                    return new XMLInputSource(id.getPublicId(), cand.toURI().toString(), id.getBaseSystemId());
                }
            }
            return null;
        }

        private static File toFile(String sys) {
            try {
                if (sys.startsWith("file:")) return new File(new URI(sys));
                if (sys.contains("://")) return null;
                return new File(sys);
            } catch (Exception e) {
                return null;
            }
        }
    }

    private static final Map<String, Grammars> GRAMMARS = new LinkedHashMap<>();

    static Grammars grammars(String xsd) throws Exception {
        String uri = new File(xsd).getAbsoluteFile().toURI().toString();
        Grammars g = GRAMMARS.get(uri);
        if (g == null) {
            g = GrammarFactory.newInstance().createGrammars(uri, new LocalResolver());
            GRAMMARS.put(uri, g);
        }
        return g;
    }

    static EXIFactory factory(String xsd, Options o) throws Exception {
        EXIFactory f = DefaultEXIFactory.newInstance();
        f.setGrammars(grammars(xsd));
        f.setFidelityOptions(FidelityOptions.createDefault());
        f.setCodingMode(CodingMode.BIT_PACKED);
        f.setFragment(o.fragment);
        // -1 is EXIficient's own "unbounded" (Constants.DEFAULT_VALUE_*)
        f.setValuePartitionCapacity(o.capacity < 0 ? -1 : o.capacity);
        f.setValueMaxLength(o.maxlen < 0 ? -1 : o.maxlen);
        f.setMaximumNumberOfBuiltInElementGrammars(0);
        f.setMaximumNumberOfBuiltInProductions(0);
        return f;
    }

    // -------------------------------------------------------------------- codec

    /** One encoder/decoder pair, reused across documents. */
    static final class Codec {
        final EXIFactory factory;
        final XMLReader xmlReader;       // XML text -> SAX events
        final SAXEncoder encoder;        // SAX events -> EXI
        final XMLReader exiReader;       // EXI -> SAX events
        final DefaultHandler discard = new DefaultHandler();
        final ByteArrayOutputStream out = new ByteArrayOutputStream(4096);

        Codec(EXIFactory factory) throws Exception {
            this.factory = factory;
            SAXParserFactory spf = SAXParserFactory.newInstance();
            spf.setNamespaceAware(true);
            xmlReader = spf.newSAXParser().getXMLReader();
            xmlReader.setErrorHandler(new DefaultHandler() {   // throw, don't print
                @Override public void error(org.xml.sax.SAXParseException e) throws org.xml.sax.SAXException {
                    throw e;
                }
            });
            SAXFactory sf = new SAXFactory(factory);
            encoder = sf.createEXIWriter();
            exiReader = sf.createEXIReader();
        }

        byte[] encode(String xml) throws Exception {
            out.reset();
            encoder.setOutputStream(out);   // writes the EXI header, resets the body encoder
            xmlReader.setContentHandler(encoder);
            xmlReader.parse(new InputSource(new StringReader(xml)));
            return out.toByteArray();
        }

        Recording record(String xml) throws Exception {
            Recording r = new Recording();
            xmlReader.setContentHandler(r);
            xmlReader.parse(new InputSource(new StringReader(xml)));
            return r;
        }

        /** EXI encoding of pre-recorded SAX events (no XML parsing). */
        byte[] encodeEvents(Recording r) throws Exception {
            out.reset();
            encoder.setOutputStream(out);
            r.replay(encoder);
            return out.toByteArray();
        }

        /** XML parse only (same SAX parser, events discarded). */
        void parseOnly(String xml) throws Exception {
            xmlReader.setContentHandler(discard);
            xmlReader.parse(new InputSource(new StringReader(xml)));
        }

        void decodeDiscard(byte[] exi) throws Exception {
            exiReader.setContentHandler(discard);
            exiReader.parse(new InputSource(new ByteArrayInputStream(exi)));
        }

        String decodeToXml(byte[] exi) throws Exception {
            Transformer t = TransformerFactory.newInstance().newTransformer();
            t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            StringWriter sw = new StringWriter();
            t.transform(new SAXSource(exiReader, new InputSource(new ByteArrayInputStream(exi))),
                    new StreamResult(sw));
            return sw.toString();
        }
    }

    /** SAX events of one parsed document, replayable into any handler, to
     *  time the EXI encoder without the XML parser. */
    static final class Recording extends DefaultHandler {
        private final List<Object[]> events = new ArrayList<>();

        @Override public void startDocument() { events.add(new Object[] {"sd"}); }
        @Override public void endDocument() { events.add(new Object[] {"ed"}); }
        @Override public void startPrefixMapping(String prefix, String uri) {
            events.add(new Object[] {"sp", prefix, uri});
        }
        @Override public void endPrefixMapping(String prefix) { events.add(new Object[] {"ep", prefix}); }
        @Override public void startElement(String uri, String local, String qname, org.xml.sax.Attributes atts) {
            events.add(new Object[] {"se", uri, local, qname, new org.xml.sax.helpers.AttributesImpl(atts)});
        }
        @Override public void endElement(String uri, String local, String qname) {
            events.add(new Object[] {"ee", uri, local, qname});
        }
        @Override public void characters(char[] ch, int start, int length) {
            events.add(new Object[] {"ch", java.util.Arrays.copyOfRange(ch, start, start + length)});
        }

        void replay(org.xml.sax.ContentHandler h) throws org.xml.sax.SAXException {
            for (Object[] e : events) {
                switch ((String) e[0]) {
                    case "sd": h.startDocument(); break;
                    case "ed": h.endDocument(); break;
                    case "sp": h.startPrefixMapping((String) e[1], (String) e[2]); break;
                    case "ep": h.endPrefixMapping((String) e[1]); break;
                    case "se": h.startElement((String) e[1], (String) e[2], (String) e[3],
                            (org.xml.sax.Attributes) e[4]); break;
                    case "ee": h.endElement((String) e[1], (String) e[2], (String) e[3]); break;
                    default: char[] c = (char[]) e[1]; h.characters(c, 0, c.length);
                }
            }
        }
    }

    // ---------------------------------------------------------------- hex, json

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
        }
        return sb.toString();
    }

    static byte[] unhex(String s) {
        s = s.replaceAll("\\s+", "");
        if (s.length() % 2 != 0) throw new IllegalArgumentException("odd-length hex");
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            int hi = Character.digit(s.charAt(2 * i), 16), lo = Character.digit(s.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) throw new IllegalArgumentException("bad hex digit");
            b[i] = (byte) ((hi << 4) | lo);
        }
        return b;
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /** Minimal JSON reader: objects (LinkedHashMap), arrays (ArrayList),
     *  strings, numbers (Double), true/false/null. */
    static final class Json {
        private final String s;
        private int p;

        private Json(String s) { this.s = s; }

        static Object parse(String text) {
            Json j = new Json(text);
            Object v = j.value();
            j.ws();
            if (j.p != j.s.length()) throw j.err("trailing data");
            return v;
        }

        private RuntimeException err(String m) {
            return new IllegalArgumentException("JSON: " + m + " at " + p);
        }

        private void ws() {
            while (p < s.length() && Character.isWhitespace(s.charAt(p))) p++;
        }

        private Object value() {
            ws();
            if (p >= s.length()) throw err("unexpected end");
            char c = s.charAt(p);
            if (c == '{') return object();
            if (c == '[') return array();
            if (c == '"') return string();
            if (s.startsWith("true", p)) { p += 4; return Boolean.TRUE; }
            if (s.startsWith("false", p)) { p += 5; return Boolean.FALSE; }
            if (s.startsWith("null", p)) { p += 4; return null; }
            int start = p;
            while (p < s.length() && "+-0123456789.eE".indexOf(s.charAt(p)) >= 0) p++;
            if (start == p) throw err("unexpected character");
            return Double.parseDouble(s.substring(start, p));
        }

        private Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            p++;
            ws();
            if (s.charAt(p) == '}') { p++; return m; }
            while (true) {
                ws();
                String k = string();
                ws();
                if (s.charAt(p++) != ':') throw err("':' expected");
                m.put(k, value());
                ws();
                char c = s.charAt(p++);
                if (c == '}') return m;
                if (c != ',') throw err("',' or '}' expected");
            }
        }

        private List<Object> array() {
            List<Object> l = new ArrayList<>();
            p++;
            ws();
            if (s.charAt(p) == ']') { p++; return l; }
            while (true) {
                l.add(value());
                ws();
                char c = s.charAt(p++);
                if (c == ']') return l;
                if (c != ',') throw err("',' or ']' expected");
            }
        }

        private String string() {
            if (s.charAt(p) != '"') throw err("string expected");
            p++;
            StringBuilder sb = new StringBuilder();
            while (true) {
                char c = s.charAt(p++);
                if (c == '"') return sb.toString();
                if (c != '\\') { sb.append(c); continue; }
                char e = s.charAt(p++);
                switch (e) {
                    case '"': case '\\': case '/': sb.append(e); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'n': sb.append('\n'); break;
                    case 'r': sb.append('\r'); break;
                    case 't': sb.append('\t'); break;
                    case 'u': sb.append((char) Integer.parseInt(s.substring(p, p + 4), 16)); p += 4; break;
                    default: throw err("bad escape");
                }
            }
        }
    }

    static String readAll(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    static String message(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (sb.length() > 0) sb.append(" <- ");
            sb.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
            if (c.getCause() == c) break;
        }
        return sb.toString();
    }

    // ----------------------------------------------------------------- commands

    static void cmdEncode(Options o, PrintStream out) throws Exception {
        String xsd = o.positional.get(0), file = o.positional.get(1);
        String xml = file.equals("-") ? readAll(System.in)
                : new String(Files.readAllBytes(Paths.get(file)), StandardCharsets.UTF_8);
        out.println(hex(new Codec(factory(xsd, o)).encode(xml)));
    }

    static void cmdDecode(Options o, PrintStream out) throws Exception {
        String xsd = o.positional.get(0), h = o.positional.get(1);
        if (h.equals("-")) h = readAll(System.in);
        out.println(new Codec(factory(xsd, o)).decodeToXml(unhex(h.trim())));
    }

    static void cmdMany(Options o, PrintStream out, boolean encode) throws Exception {
        String xsd = o.positional.get(0);
        Object in = Json.parse(readAll(System.in));
        if (!(in instanceof List)) throw new IllegalArgumentException("stdin must be a JSON list of strings");
        EXIFactory f = factory(xsd, o);
        Codec codec = new Codec(f);
        StringBuilder sb = new StringBuilder("[");
        boolean first = true;
        for (Object item : (List<?>) in) {
            if (!first) sb.append(",\n");
            first = false;
            try {
                if (!(item instanceof String)) throw new IllegalArgumentException("item is not a string");
                String v = encode ? hex(codec.encode((String) item)) : codec.decodeToXml(unhex((String) item));
                sb.append(encode ? "{\"hex\": " : "{\"xml\": ").append(quote(v)).append('}');
            } catch (Exception e) {
                sb.append("{\"error\": ").append(quote(message(e))).append('}');
                codec = new Codec(f);   // state after a failure is unknown
            }
        }
        out.println(sb.append("]"));
    }

    static final int ROUNDS = 5;

    static void cmdBench(Options o, PrintStream out) throws Exception {
        String xsd = o.positional.get(0), jsonl = o.positional.get(1), schema = o.positional.get(2);
        int iter = Integer.parseInt(o.positional.get(3));
        List<String> names = new ArrayList<>(), xmls = new ArrayList<>(), hexes = new ArrayList<>();
        for (String line : Files.readAllLines(Paths.get(jsonl), StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            @SuppressWarnings("unchecked")
            Map<String, Object> v = (Map<String, Object>) Json.parse(line);
            if (!schema.equals(v.get("schema"))) continue;
            names.add((String) v.get("name"));
            xmls.add((String) v.get("xml"));
            hexes.add((String) v.get("exi_hex"));
        }
        if (names.isEmpty()) throw new IllegalArgumentException("no vector with schema " + schema);
        Codec codec = new Codec(factory(xsd, o));   // grammars built once
        byte[][] exis = new byte[names.size()][];
        for (int i = 0; i < exis.length; i++) exis[i] = unhex(hexes.get(i));

        Recording[] recs = new Recording[names.size()];
        for (int i = 0; i < recs.length; i++) recs[i] = codec.record(xmls.get(i));

        long sink = 0;
        // warm-up: round robin over the vectors, o.warmup rounds in total
        for (int k = 0; k < o.warmup; k++) {
            int i = k % names.size();
            sink += codec.encode(xmls.get(i)).length;
            sink += codec.encodeEvents(recs[i]).length;
            codec.decodeDiscard(exis[i]);
            codec.parseOnly(xmls.get(i));
        }
        // ITER operations of each kind per vector, in ROUNDS rounds; the
        // figure reported is the best round mean (robust against other load
        // on the machine), the mean over all ITER is reported as *_mean_us.
        final String[] kinds = {"encode", "decode", "xml_parse", "encode_events"};
        final int rounds = Math.min(ROUNDS, iter);
        final int per = iter / rounds;
        for (int i = 0; i < names.size(); i++) {
            String xml = xmls.get(i);
            byte[] last = null, lastEv = null;
            double[] best = new double[kinds.length];
            java.util.Arrays.fill(best, Double.MAX_VALUE);
            long[] total = new long[kinds.length];
            for (int r = 0; r < rounds; r++) {
                int n = r == rounds - 1 ? iter - per * (rounds - 1) : per;
                long t0 = System.nanoTime();
                for (int k = 0; k < n; k++) last = codec.encode(xml);
                long t1 = System.nanoTime();
                for (int k = 0; k < n; k++) codec.decodeDiscard(exis[i]);
                long t2 = System.nanoTime();
                for (int k = 0; k < n; k++) codec.parseOnly(xml);
                long t3 = System.nanoTime();
                for (int k = 0; k < n; k++) lastEv = codec.encodeEvents(recs[i]);
                long t4 = System.nanoTime();
                long[] d = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
                for (int j = 0; j < kinds.length; j++) {
                    total[j] += d[j];
                    best[j] = Math.min(best[j], d[j] / 1e3 / n);
                }
                sink += last.length + lastEv.length;
            }
            String got = hex(last);
            boolean exact = got.equalsIgnoreCase(hexes.get(i).trim()) && java.util.Arrays.equals(last, lastEv);
            StringBuilder line = new StringBuilder("{\"name\": ").append(quote(names.get(i)));
            for (int j = 0; j < kinds.length; j++) {
                line.append(String.format(java.util.Locale.ROOT, ", \"%s_us\": %.3f", kinds[j], best[j]));
            }
            for (int j = 0; j < kinds.length; j++) {
                line.append(String.format(java.util.Locale.ROOT, ", \"%s_mean_us\": %.3f",
                        kinds[j], total[j] / 1e3 / iter));
            }
            line.append(", \"exact\": ").append(exact).append(", \"bytes\": ").append(last.length);
            if (!exact) line.append(", \"got_hex\": ").append(quote(got));
            out.println(line.append('}'));
            out.flush();
        }
        System.err.println("sink " + sink);
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        if (args.length < 1) usage();
        Options o = Options.parse(args, 1);
        try {
            switch (args[0]) {
                case "encode": need(o, 2); cmdEncode(o, out); break;
                case "decode": need(o, 2); cmdDecode(o, out); break;
                case "encode-many": need(o, 1); cmdMany(o, out, true); break;
                case "decode-many": need(o, 1); cmdMany(o, out, false); break;
                case "bench": need(o, 4); cmdBench(o, out); break;
                default: usage();
            }
        } catch (Exception e) {
            out.flush();
            System.err.println("ExiBench: " + message(e));
            System.exit(1);
        }
        out.flush();
    }

    private static void need(Options o, int n) {
        if (o.positional.size() != n) usage();
    }

    private static void usage() {
        System.err.println("usage: ExiBench encode XSD XMLFILE|- [--fragment] [--capacity N] [--maxlen N]\n"
                + "       ExiBench decode XSD HEX|- [opts]\n"
                + "       ExiBench encode-many XSD [opts]   (stdin: JSON list of XML strings)\n"
                + "       ExiBench decode-many XSD [opts]   (stdin: JSON list of hex strings)\n"
                + "       ExiBench bench XSD JSONL SCHEMA ITER [--warmup N] [opts]");
        System.exit(2);
    }
}
