//! Integration tests, compiled into one binary. Each module tests what a user or ARM
//! would observe: exit codes, messages, files written, request bodies.

mod action;
mod arm_bounds;
mod arm_client;
mod arm_contract;
mod arm_contract_service;
mod arm_emulator;
mod arm_schemas;
mod cli;
mod dataplane_stream;
mod durations;
mod emu;
mod emulator;
mod engine;
mod engine_faults;
mod faults_at_scale;
mod golden;
mod import;
mod invalid_plans;
mod lifecycle;
mod ownership;
mod parser_fuzz;
mod plan_data;
mod plan_reads;
mod plan_review;
mod plan_schema;
mod policy_readers;
mod preflight;
mod progress_logs;
mod read_counts;
mod recorded;
mod saved_plans;
mod scripted;
mod state_output;
mod util;
mod verify;
