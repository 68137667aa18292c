// Package store is the storage layer every Tessera app uses, on two engines:
// an embedded SQLite file (the default, one machine) and Postgres (any number of
// identical nodes). Apps write their SQL once with `?` placeholders; the store
// rebinds it for Postgres, runs it through database/sql, and turns the drivers'
// errors into faults (unique or foreign key violation → conflict, busy →
// unavailable).
//
// # Handles
//
// [Open] returns a [Store]. [Store.App] gives one app (or the platform) a [DB]
// handle for its schema; [Store.Admin] gives the admin service a handle that
// sees every schema. A [DB] runs single statements and transactions
// ([DB.InTx]); private helpers take a [Querier] so they work inside and outside
// a transaction.
//
// # Schemas and the per-app boundary
//
// On Postgres every schema ("messaging", "platform", …) is a Postgres schema
// owned by a NOLOGIN role named "<database>_<schema>"; App(schema) connects,
// runs SET ROLE to that role and sets search_path to "<schema>, platform", so
// the database itself refuses an app's reads of another app's tables (SQLSTATE
// 42501, permission denied). Every app role is a member of the group role
// "<database>_apps", which is how the platform schema grants its shared tables
// (events, jobs) to every app at once, in its own migrations:
//
//	GRANT USAGE ON SCHEMA platform TO {{apps_role}};
//	GRANT SELECT, INSERT ON platform_events TO {{apps_role}};
//
// ({{apps_role}} is replaced by the quoted role name, see [MigrationSet]). The
// admin role "<database>_admin" is a member of every schema role, so it reads
// and writes everything.
//
// SQLite has a single namespace and no roles: every table is named with its
// schema as prefix (messaging_rooms), on both engines, and App(x) and Admin()
// share the same connections. SQLite does NOT enforce the per-app boundary;
// the code does (each app's store names only its own tables).
//
// # Durability
//
// SQLite runs in WAL mode with synchronous=FULL: a transaction is acknowledged
// (InTx or Exec returns nil) only after its WAL frames were fsync'ed. So every
// acknowledged write survives the process being killed (kill -9; this would
// hold with synchronous=NORMAL too, since the OS keeps the written pages), and
// it also survives a power cut or kernel crash (with NORMAL the last
// transactions before a power cut could be lost, though the file stays
// consistent). Postgres gives the same guarantees with its default
// synchronous_commit=on.
//
// # Concurrency
//
// Transactions are serializable on both engines: SQLite has one writer
// connection and every transaction takes the write lock at BEGIN (IMMEDIATE);
// Postgres runs InTx at SERIALIZABLE isolation. Both retry transient failures
// (SQLITE_BUSY/SQLITE_LOCKED, serialization_failure, deadlock_detected) with
// capped exponential back-off and jitter.
package store
