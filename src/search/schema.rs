//! The tantivy schema: one document per FAQ entry and per policy passage.

use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::text::{BIGRAM_TOKENIZER_NAME, TOKENIZER_NAME};

/// Field handles, looked up once from the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// FAQ id or policy id, as written in its file.
    pub id: Field,
    /// `faq` or `passage`.
    pub kind: Field,
    pub lang: Field,
    /// FAQ question, or the policy's title.
    pub title: Field,
    /// Passage heading (第X条 …); empty for FAQs.
    pub heading: Field,
    /// FAQ alternative phrasings; empty for passages.
    pub alternatives: Field,
    /// FAQ answer, or passage text.
    pub body: Field,
    /// Everything above plus issuer, 文号, region and tags: the field that decides which
    /// query terms a hit covers, and whose document frequencies give the IDF weights.
    pub all: Field,
    /// Stored JSON with citation metadata (see `search::Meta`).
    pub meta: Field,
    /// Character bigrams of the key text (FAQ question and alternatives, passage title and
    /// heading) and body: evidence that does not depend on how jieba cut the words.
    pub bigrams: Field,
}

pub const KIND_FAQ: &str = "faq";
pub const KIND_PASSAGE: &str = "passage";

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER_NAME)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text_stored = TextOptions::default()
        .set_indexing_options(indexing.clone())
        .set_stored();
    let text_only = TextOptions::default().set_indexing_options(indexing);
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        lang: b.add_text_field("lang", STRING | STORED),
        title: b.add_text_field("title", text_stored.clone()),
        heading: b.add_text_field("heading", text_stored.clone()),
        alternatives: b.add_text_field("alternatives", text_only.clone()),
        body: b.add_text_field("body", text_stored),
        all: b.add_text_field("all", text_only),
        meta: b.add_text_field("meta", STORED),
        bigrams: b.add_text_field(
            "bigrams",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(BIGRAM_TOKENIZER_NAME)
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
    };
    (b.build(), fields)
}

/// Looks the fields up in an opened index's schema.
pub fn fields_of(schema: &Schema) -> tantivy::Result<Fields> {
    let f = |name: &str| schema.get_field(name);
    Ok(Fields {
        id: f("id")?,
        kind: f("kind")?,
        lang: f("lang")?,
        title: f("title")?,
        heading: f("heading")?,
        alternatives: f("alternatives")?,
        body: f("body")?,
        all: f("all")?,
        meta: f("meta")?,
        bigrams: f("bigrams")?,
    })
}
