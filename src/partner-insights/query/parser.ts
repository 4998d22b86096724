/**
 * The report query language of Partner Center's insights API, parsed with a grammar (chevrotain):
 *
 *   query     := SELECT [DISTINCT] name {, name} FROM name [WHERE condition {AND condition}]
 *                [ORDER BY name [ASC|DESC] {, name [ASC|DESC]}] [LIMIT integer] [TIMESPAN name]
 *   condition := name (= | > | < | >= | <= | !=) literal
 *              | name [NOT] LIKE literal
 *              | name [NOT] IN ( literal {, literal} )
 *   literal   := number | 'single-quoted text' ('' is a quote inside)
 *
 * Keywords are case-insensitive. OR is a token only so that its error can say what to do instead.
 * Every error names the line and column and the token that was expected. The parser builds an AST
 * (ast.ts); it never produces SQL — compile.ts does, from the AST and a dataset's allow-list.
 */
import { createToken, EmbeddedActionsParser, Lexer, type IToken, type TokenType } from "chevrotain";
import type { ComparisonOperator, Condition, Literal, Name, OrderItem, Position, ReportQueryAst } from "./ast.ts";

export class QuerySyntaxError extends Error {
  override readonly name = "QuerySyntaxError";
  constructor(message: string, readonly at: Position | undefined) {
    super(message);
  }
}

/** The longest query accepted (characters); longer text is refused before parsing. */
export const MAX_QUERY_LENGTH = 8192;

const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "a name" });
const keyword = (word: string) => createToken({ name: word, pattern: new RegExp(`${word}(?![A-Za-z0-9_])`, "i"), longer_alt: Identifier, label: word });
const Select = keyword("SELECT");
const Distinct = keyword("DISTINCT");
const From = keyword("FROM");
const Where = keyword("WHERE");
const And = keyword("AND");
const Or = keyword("OR");
const Not = keyword("NOT");
const Like = keyword("LIKE");
const In = keyword("IN");
const Order = keyword("ORDER");
const By = keyword("BY");
const Asc = keyword("ASC");
const Desc = keyword("DESC");
const Limit = keyword("LIMIT");
const Timespan = keyword("TIMESPAN");
const StringLiteral = createToken({ name: "StringLiteral", pattern: /'(?:[^']|'')*'/, label: "a 'quoted' value" });
const NumberLiteral = createToken({ name: "NumberLiteral", pattern: /-?\d+(?:\.\d+)?/, label: "a number" });
const Comma = createToken({ name: "Comma", pattern: /,/, label: "','" });
const LParen = createToken({ name: "LParen", pattern: /\(/, label: "'('" });
const RParen = createToken({ name: "RParen", pattern: /\)/, label: "')'" });
const GreaterEq = createToken({ name: "GreaterEq", pattern: />=/, label: "'>='" });
const LessEq = createToken({ name: "LessEq", pattern: /<=/, label: "'<='" });
const NotEq = createToken({ name: "NotEq", pattern: /!=|<>/, label: "'!='" });
const Eq = createToken({ name: "Eq", pattern: /=/, label: "'='" });
const Greater = createToken({ name: "Greater", pattern: />/, label: "'>'" });
const Less = createToken({ name: "Less", pattern: /</, label: "'<'" });
const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /\s+/, group: Lexer.SKIPPED });

const keywords = [Select, Distinct, From, Where, And, Or, Not, Like, In, Order, By, Asc, Desc, Limit, Timespan];
const allTokens: TokenType[] = [WhiteSpace, ...keywords, Identifier, StringLiteral, NumberLiteral, Comma, LParen, RParen, GreaterEq, LessEq, NotEq, Eq, Greater, Less];
const lexer = new Lexer(allTokens, { positionTracking: "full", ensureOptimizations: false });

const pos = (t: IToken): Position => ({ line: t.startLine ?? 1, column: t.startColumn ?? 1, offset: t.startOffset });
const name = (t: IToken): Name => ({ text: t.image, at: pos(t) });

class ReportQueryParser extends EmbeddedActionsParser {
  constructor() {
    super(allTokens, { recoveryEnabled: false, maxLookahead: 2 });
    this.performSelfAnalysis();
  }

  readonly query = this.RULE("query", (): ReportQueryAst => {
    this.CONSUME(Select);
    const distinct = this.OPTION(() => this.CONSUME(Distinct)) !== undefined;
    const select: Name[] = [];
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => select.push(name(this.CONSUME(Identifier))) });
    this.CONSUME(From);
    const from = name(this.CONSUME2(Identifier));
    const where: Condition[] = [];
    this.OPTION2(() => {
      this.CONSUME(Where);
      this.AT_LEAST_ONE_SEP2({ SEP: And, DEF: () => where.push(this.SUBRULE(this.condition)) });
    });
    const orderBy: OrderItem[] = [];
    this.OPTION3(() => {
      this.CONSUME(Order);
      this.CONSUME(By);
      this.AT_LEAST_ONE_SEP3({
        SEP: Comma,
        DEF: () => {
          const column = name(this.CONSUME3(Identifier));
          // Partner Center's default direction is DESC.
          let direction: "ASC" | "DESC" = "DESC";
          this.OPTION4(() => this.OR([
            { ALT: () => { this.CONSUME(Asc); direction = "ASC"; } },
            { ALT: () => { this.CONSUME(Desc); direction = "DESC"; } },
          ]));
          orderBy.push({ column, direction });
        },
      });
    });
    let limit: ReportQueryAst["limit"];
    this.OPTION5(() => {
      this.CONSUME(Limit);
      const t = this.CONSUME(NumberLiteral);
      limit = { value: Number(t.image), at: pos(t) };
    });
    let timespan: Name | undefined;
    this.OPTION6(() => {
      this.CONSUME(Timespan);
      timespan = name(this.CONSUME4(Identifier));
    });
    return { distinct, select, from, where, orderBy, limit, timespan };
  });

  readonly condition = this.RULE("condition", (): Condition => {
    const column = name(this.CONSUME(Identifier));
    return this.OR([
      {
        ALT: () => {
          const op = this.SUBRULE(this.comparison);
          return { kind: "compare" as const, column, op, value: this.SUBRULE(this.literal) };
        },
      },
      {
        ALT: () => {
          const negated = this.OPTION(() => this.CONSUME(Not)) !== undefined;
          return this.OR2([
            { ALT: () => { this.CONSUME(Like); return { kind: "like" as const, column, negated, pattern: this.SUBRULE2(this.literal) }; } },
            {
              ALT: () => {
                this.CONSUME(In);
                this.CONSUME(LParen);
                const values: Literal[] = [];
                this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => values.push(this.SUBRULE3(this.literal)) });
                this.CONSUME(RParen);
                return { kind: "in" as const, column, negated, values };
              },
            },
          ]);
        },
      },
    ]);
  });

  readonly comparison = this.RULE("comparison", (): ComparisonOperator => {
    const t = this.OR([
      { ALT: () => this.CONSUME(Eq) }, { ALT: () => this.CONSUME(GreaterEq) }, { ALT: () => this.CONSUME(LessEq) },
      { ALT: () => this.CONSUME(NotEq) }, { ALT: () => this.CONSUME(Greater) }, { ALT: () => this.CONSUME(Less) },
    ]);
    return (t.image === "<>" ? "!=" : t.image) as ComparisonOperator;
  });

  readonly literal = this.RULE("literal", (): Literal => this.OR([
    { ALT: () => { const t = this.CONSUME(StringLiteral); return { kind: "string" as const, value: t.image.slice(1, -1).replaceAll("''", "'"), at: pos(t) }; } },
    { ALT: () => { const t = this.CONSUME(NumberLiteral); return { kind: "number" as const, value: Number(t.image), at: pos(t) }; } },
  ]));
}

// One parser instance: chevrotain parsers are reusable (input is reset per parse) and building
// one runs the grammar analysis, which is worth doing once.
const parser = new ReportQueryParser();

export const where = (at: Position | undefined): string => (at ? `line ${at.line}, column ${at.column}` : "the end of the query");

/** Parses a report query; throws QuerySyntaxError naming the position and the expected token. */
export function parseReportQuery(text: string): ReportQueryAst {
  if (text.length > MAX_QUERY_LENGTH) {
    throw new QuerySyntaxError(`The query is ${text.length} characters long; the limit is ${MAX_QUERY_LENGTH}. Select fewer columns or shorten the IN lists.`, undefined);
  }
  if (text.trim() === "") throw new QuerySyntaxError("The query is empty; write e.g. SELECT CustomerTenantId, TotalACR FROM AzureUsage TIMESPAN LAST_MONTH.", undefined);
  const lexed = lexer.tokenize(text);
  const bad = lexed.errors[0];
  if (bad) {
    const at: Position = { line: bad.line ?? 1, column: bad.column ?? 1, offset: bad.offset };
    const ch = text.slice(bad.offset, bad.offset + 1);
    const hint = ch === "\"" ? " Quote values with single quotes ('…')." : ch === ";" ? " A query is one SELECT statement; remove the ';'." : ch === "'" ? " A quoted value is not closed; end it with ' (write '' for a quote inside)." : "";
    throw new QuerySyntaxError(`Unexpected character '${ch}' at ${where(at)}.${hint}`, at);
  }
  parser.input = lexed.tokens;
  const ast = parser.query();
  const err = parser.errors[0];
  if (err) {
    const t = err.token;
    const atEnd = t.tokenType.name === "EOF";
    const at = atEnd ? undefined : pos(t);
    if (!atEnd && t.tokenType === Or) {
      throw new QuerySyntaxError(`OR is not supported (${where(at)}); combine conditions with AND, or use IN ('a', 'b') for one of several values.`, at);
    }
    const expected = expectedFrom(err.message);
    const found = atEnd ? "the end of the query" : `'${t.image}'`;
    throw new QuerySyntaxError(`Syntax error at ${where(at)}: found ${found}${expected ? `, expected ${expected}` : ""}.`, at);
  }
  return ast;
}

/** The expected-token part of chevrotain's message, as a short list. */
function expectedFrom(message: string): string {
  const single = /Expecting (?:token of type )?--> (.+?) <--/.exec(message);
  if (single?.[1]) return single[1];
  const alts = [...message.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]?.trim() ?? "").filter((s) => s !== "");
  const uniq = [...new Set(alts.flatMap((a) => a.split(/,\s*/)))];
  return uniq.length ? `one of ${uniq.slice(0, 8).join(", ")}` : "";
}
