// Package mail sends Tessera's templated mails (plain text + HTML) through a
// transactional outbox, over SMTP or into a directory of .eml files.
//
// # Flow
//
//  1. At start, an app parses its embedded templates once ([ParseTemplates]):
//     welcome.subject.tmpl, welcome.txt.tmpl, welcome.html.tmpl for a mail
//     named "welcome". A missing part or a parse error stops the start.
//  2. A durable event handler renders a mail ([Templates.Render]) and stores it
//     with [Outbox.Enqueue] in its own transaction, with a dedupe key such as
//     "<event id>:<template>:<recipient>". A handler that runs twice for one
//     event finds the key taken and stores nothing: a mail is never enqueued
//     twice for the same (event, recipient).
//  3. In the same transaction Enqueue emits a [QueuedEvent] (when the outbox
//     has an event log), whose durable handler ([Outbox.DeliveryHandler],
//     registered by the node) calls [Outbox.Deliver]: it sends through the
//     [Sender] and marks the mail sent. A send error is recorded on the row
//     and returned, so the job retries with back-off. Deliver of a sent mail
//     does nothing, so a job that runs twice sends once.
//  4. The admin API lists the outbox ([Outbox.List], [Outbox.Get]).
//
// # Exactly once?
//
// Enqueueing is exactly-once (one transaction, a unique dedupe key). Sending
// is at-least-once, because SMTP cannot be exactly-once: if the process dies
// after the server accepted a mail and before the row is marked sent, the
// retry sends it again. Every attempt of one mail carries the same
// Message-ID ("<outbox id@public host>") and Date, so receivers that
// deduplicate on Message-ID show it once; the file sink rewrites the same
// file.
//
// # Where the table lives
//
// The outbox has its own migration line, schema "mail" ([Migrations]), so its
// versions never clash with the platform's events and jobs tables. SQLite has
// one namespace, so the table is mail_outbox. On Postgres it is
// mail.mail_outbox, owned by the role <database>_mail, and Enqueue runs in an
// app's transaction, acting as the app's role with search_path
// "<app>, platform", where the bare name does not resolve: so the outbox's SQL
// names the table mail.mail_outbox on Postgres and mail_outbox on SQLite (one
// engine switch, [Outbox] picks the name once). The migration grants the apps
// group role USAGE on the schema, INSERT on the table and SELECT on only
// (id, dedupe_key): an app can enqueue mail and find its own dedupe keys, but
// cannot read any mail's content. Deliver, List and Get run on the mail
// schema's own handle.
//
// # Senders
//
// [NewSender] returns an [SMTPSender] when the smtp setting is set, and a
// [FileSender] writing <data_dir>/mail/<time>-<id>.eml otherwise. The From
// address has no configuration key yet: [DefaultFrom] derives
// "Tessera <no-reply@HOST>" from the public URL's host.
package mail
